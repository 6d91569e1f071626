//! The one integration-test binary: the real `bp-par` executable and the public library API.
mod suite;
