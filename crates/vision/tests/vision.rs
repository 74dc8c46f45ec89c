//! Integration tests of dlscope-vision, by topic. Fixtures live in `shared/fixtures/` at the
//! project root (read-only); generated data goes to temp folders.

mod vision {
    pub mod download;
    pub mod effnet;
    pub mod errors;
    pub mod pipeline;
    pub mod pth;
    pub mod resize;
    pub mod util;
    pub mod vgg;
}
