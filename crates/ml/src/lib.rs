//! dlscope-ml (in progress).
