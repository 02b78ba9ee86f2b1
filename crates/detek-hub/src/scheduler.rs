//! (being built: issue 13)
