//! Integration tests of the IDX and CIFAR readers and the IDX writer: the real Fashion-MNIST
//! files, hand-built bad inputs for every error, tiny CIFAR batches and archives, and property
//! tests of the parsers and of write -> read round trips.

mod util;

#[path = "idx_cifar/cifar.rs"]
mod cifar;
#[path = "idx_cifar/fashion_mnist.rs"]
mod fashion_mnist;
#[path = "idx_cifar/idx_errors.rs"]
mod idx_errors;
#[path = "idx_cifar/idx_write.rs"]
mod idx_write;
#[path = "idx_cifar/props.rs"]
mod props;
