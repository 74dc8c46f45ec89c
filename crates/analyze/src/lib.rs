//! dlscope-analyze (in progress).
