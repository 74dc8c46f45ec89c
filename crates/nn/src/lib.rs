//! dlscope-nn (in progress).
