//! `show weights --units N|all`: how many first-layer units to draw.

use std::fmt;
use std::str::FromStr;

/// The units `show weights` draws: the first N, or every one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Units {
    First(usize),
    All,
}

impl Units {
    /// How many of a layer's `n` units are drawn.
    pub fn of(self, n: usize) -> usize {
        match self {
            Units::First(k) => k.min(n),
            Units::All => n,
        }
    }
}

impl FromStr for Units {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim().eq_ignore_ascii_case("all") {
            return Ok(Units::All);
        }
        match s.trim().parse::<usize>() {
            Ok(k) if k >= 1 => Ok(Units::First(k)),
            _ => Err(format!("expected a number of units (1 or more) or `all`, found {s:?}")),
        }
    }
}

impl fmt::Display for Units {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Units::First(k) => write!(f, "{k}"),
            Units::All => f.write_str("all"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_counts_and_all() {
        assert_eq!("25".parse(), Ok(Units::First(25)));
        assert_eq!("ALL".parse(), Ok(Units::All));
        assert!("0".parse::<Units>().is_err());
        assert!("-3".parse::<Units>().is_err());
        assert_eq!(Units::First(300).of(128), 128);
        assert_eq!(Units::All.of(128), 128);
        assert_eq!(Units::First(10).of(128), 10);
    }
}
