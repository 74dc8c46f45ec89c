//! Typed errors of `dlscope-ml`: what was asked, what was wrong with it, and what to do.

/// Result alias used throughout `dlscope-ml`.
pub type Result<T, E = MlError> = std::result::Result<T, E>;

/// What went wrong while fitting or applying a method.
#[derive(Debug, thiserror::Error)]
pub enum MlError {
    /// A buffer does not have `rows x cols` elements.
    #[error("{what}: buffer has {got} values but {rows} x {cols} = {expected} were expected")]
    BadShape {
        what: &'static str,
        rows: usize,
        cols: usize,
        expected: usize,
        got: usize,
    },
    /// Two inputs that must pair up element by element do not.
    #[error("{what}: {left} vs {right} elements; they must have the same length")]
    LengthMismatch {
        what: &'static str,
        left: usize,
        right: usize,
    },
    /// A matrix has a different number of columns than the model was fitted on.
    #[error("{what}: input has {got} features but the model was fitted on {expected}")]
    FeatureMismatch {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    /// A parameter is out of its valid range for this input.
    #[error("invalid {name} = {value}: {why}")]
    InvalidParam {
        name: &'static str,
        value: String,
        why: String,
    },
    /// The input has too few samples (or classes, or clusters) for the method.
    #[error("{what}: {why}")]
    TooFew { what: &'static str, why: String },
    /// The input holds NaN or infinite values.
    #[error("{what}: row {row}, column {col} is not finite ({value})")]
    NotFinite {
        what: &'static str,
        row: usize,
        col: usize,
        value: f32,
    },
    /// A numerical routine did not converge.
    #[error("{what} did not converge after {iterations} iterations")]
    NoConvergence {
        what: &'static str,
        iterations: usize,
    },
    /// Reading a dataset failed.
    #[error(transparent)]
    Data(#[from] dlscope_data::DataError),
}

impl MlError {
    /// Shorthand for [`MlError::InvalidParam`].
    pub fn param(
        name: &'static str,
        value: impl std::fmt::Display,
        why: impl Into<String>,
    ) -> Self {
        MlError::InvalidParam {
            name,
            value: value.to_string(),
            why: why.into(),
        }
    }
}
