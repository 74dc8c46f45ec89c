//! The catalog's data: names, class lists, published files with their sizes and SHA-256, and
//! mirrors. Sizes and SHA-256 of the published files are those recorded by TensorFlow Datasets
//! (`tensorflow_datasets/url_checksums/*.txt`); the Debian copies of Fashion-MNIST were measured
//! on the files the package installs.

use super::{Entry, FileSpec, KnownCopy};
use crate::dataset::Format;

const MNIST_FILES_IDX: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

const fn idx_file(i: usize, size: u64, sha256: &'static str) -> FileSpec {
    FileSpec {
        name: MNIST_FILES_IDX[i],
        size,
        sha256,
        unpacked: None,
        known_copies: &[],
    }
}

const MNIST_SPLITS: &[(&str, usize)] = &[("train", 60_000), ("test", 10_000)];
const CIFAR_SPLITS: &[(&str, usize)] = &[("train", 50_000), ("test", 10_000)];

const DIGITS: &[&str] = &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

const FASHION_CLASSES: &[&str] = &[
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Romanised hiragana, in label order: お き す つ な は ま や れ を (kmnist_classmap.csv).
const KMNIST_CLASSES: &[&str] = &["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"];

const CIFAR10_CLASSES: &[&str] = &[
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Fine labels of CIFAR-100, as in `fine_label_names.txt` of the official archive.
pub(super) const CIFAR100_CLASSES: &[&str] = &[
    "apple",
    "aquarium_fish",
    "baby",
    "bear",
    "beaver",
    "bed",
    "bee",
    "beetle",
    "bicycle",
    "bottle",
    "bowl",
    "boy",
    "bridge",
    "bus",
    "butterfly",
    "camel",
    "can",
    "castle",
    "caterpillar",
    "cattle",
    "chair",
    "chimpanzee",
    "clock",
    "cloud",
    "cockroach",
    "couch",
    "crab",
    "crocodile",
    "cup",
    "dinosaur",
    "dolphin",
    "elephant",
    "flatfish",
    "forest",
    "fox",
    "girl",
    "hamster",
    "house",
    "kangaroo",
    "keyboard",
    "lamp",
    "lawn_mower",
    "leopard",
    "lion",
    "lizard",
    "lobster",
    "man",
    "maple_tree",
    "motorcycle",
    "mountain",
    "mouse",
    "mushroom",
    "oak_tree",
    "orange",
    "orchid",
    "otter",
    "palm_tree",
    "pear",
    "pickup_truck",
    "pine_tree",
    "plain",
    "plate",
    "poppy",
    "porcupine",
    "possum",
    "rabbit",
    "raccoon",
    "ray",
    "road",
    "rocket",
    "rose",
    "sea",
    "seal",
    "shark",
    "shrew",
    "skunk",
    "skyscraper",
    "snail",
    "snake",
    "spider",
    "squirrel",
    "streetcar",
    "sunflower",
    "sweet_pepper",
    "table",
    "tank",
    "telephone",
    "television",
    "tiger",
    "tractor",
    "train",
    "trout",
    "tulip",
    "turtle",
    "wardrobe",
    "whale",
    "willow_tree",
    "wolf",
    "woman",
    "worm",
];

const DEBIAN_FASHION: &str =
    "Debian package dataset-fashion-mnist (re-gzipped without the stored file name)";

pub(super) static ENTRIES: &[Entry] = &[
    Entry {
        name: "mnist",
        description: "Handwritten digits 0-9, 28x28 grayscale",
        format: Format::Idx,
        classes: DIGITS,
        splits: MNIST_SPLITS,
        files: &[
            idx_file(
                0,
                9_912_422,
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            ),
            idx_file(
                1,
                28_881,
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            ),
            idx_file(
                2,
                1_648_877,
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            ),
            idx_file(
                3,
                4_542,
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            ),
        ],
        mirrors: &[
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ],
        homepage: "https://yann.lecun.com/exdb/mnist/",
        system_package: None,
    },
    Entry {
        name: "fashion-mnist",
        description: "Zalando article images in 10 clothing classes, 28x28 grayscale",
        format: Format::Idx,
        classes: FASHION_CLASSES,
        splits: MNIST_SPLITS,
        files: &[
            FileSpec {
                name: "train-images-idx3-ubyte.gz",
                size: 26_421_880,
                sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                unpacked: None,
                known_copies: &[KnownCopy {
                    origin: DEBIAN_FASHION,
                    size: 26_421_856,
                    sha256: "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
                }],
            },
            FileSpec {
                name: "train-labels-idx1-ubyte.gz",
                size: 29_515,
                sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                unpacked: None,
                known_copies: &[KnownCopy {
                    origin: DEBIAN_FASHION,
                    size: 29_491,
                    sha256: "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
                }],
            },
            FileSpec {
                name: "t10k-images-idx3-ubyte.gz",
                size: 4_422_102,
                sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                unpacked: None,
                known_copies: &[KnownCopy {
                    origin: DEBIAN_FASHION,
                    size: 4_422_079,
                    sha256: "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
                }],
            },
            FileSpec {
                name: "t10k-labels-idx1-ubyte.gz",
                size: 5_148,
                sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                unpacked: None,
                known_copies: &[KnownCopy {
                    origin: DEBIAN_FASHION,
                    size: 5_125,
                    sha256: "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
                }],
            },
        ],
        mirrors: &[
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ],
        homepage: "https://github.com/zalandoresearch/fashion-mnist",
        system_package: Some("dataset-fashion-mnist"),
    },
    Entry {
        name: "kmnist",
        description: "Kuzushiji-MNIST: 10 cursive Japanese hiragana, 28x28 grayscale",
        format: Format::Idx,
        classes: KMNIST_CLASSES,
        splits: MNIST_SPLITS,
        files: &[
            idx_file(
                0,
                18_165_135,
                "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
            ),
            idx_file(
                1,
                29_497,
                "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
            ),
            idx_file(
                2,
                3_041_136,
                "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
            ),
            idx_file(
                3,
                5_120,
                "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c",
            ),
        ],
        mirrors: &["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"],
        homepage: "https://github.com/rois-codh/kmnist",
        system_package: None,
    },
    Entry {
        name: "cifar10",
        description: "32x32 colour photos in 10 classes",
        format: Format::Cifar,
        classes: CIFAR10_CLASSES,
        splits: CIFAR_SPLITS,
        files: &[FileSpec {
            name: "cifar-10-binary.tar.gz",
            size: 170_052_171,
            sha256: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
            unpacked: Some("cifar-10-batches-bin"),
            known_copies: &[],
        }],
        mirrors: &["https://www.cs.toronto.edu/~kriz/"],
        homepage: "https://www.cs.toronto.edu/~kriz/cifar.html",
        system_package: None,
    },
    Entry {
        name: "cifar100",
        description: "32x32 colour photos in 100 fine classes",
        format: Format::Cifar,
        classes: CIFAR100_CLASSES,
        splits: CIFAR_SPLITS,
        files: &[FileSpec {
            name: "cifar-100-binary.tar.gz",
            size: 168_513_733,
            sha256: "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec",
            unpacked: Some("cifar-100-binary"),
            known_copies: &[],
        }],
        mirrors: &["https://www.cs.toronto.edu/~kriz/"],
        homepage: "https://www.cs.toronto.edu/~kriz/cifar.html",
        system_package: None,
    },
];
