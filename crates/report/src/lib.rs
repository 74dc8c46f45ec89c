//! dlscope-report (in progress).
