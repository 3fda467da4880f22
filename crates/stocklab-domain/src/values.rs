//! Validated scalar values. Each type has one constructor that checks its input, so a value of
//! the type is proof the check passed.

use crate::error::ValidationError;

/// The largest stock, count or change stocklab accepts: 10^15.
///
/// It keeps every sum the store computes (`stock + delta`) far from `i64` overflow, and every
/// quantity exactly representable as a JavaScript number for the dashboard (below 2^53).
pub const MAX_QUANTITY: i64 = 1_000_000_000_000_000;

/// A stock-keeping unit: 1 to 64 characters of ASCII letters, digits, `-`, `_` or `.`.
///
/// SKUs are case-sensitive: `ab-1` and `AB-1` are two products.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sku(String);

impl Sku {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if raw.is_empty() || raw.len() > Self::MAX_LEN || !raw.chars().all(valid_char) {
            return Err(ValidationError::new(
                "sku",
                "must be 1 to 64 characters of ASCII letters, digits, '-', '_' or '.'",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A product's display name: 1 to 200 characters after trimming surrounding white space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductName(String);

impl ProductName {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "name",
                "must be 1 to 200 characters, not only white space",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An on-hand quantity or a counted stock: `0..=MAX_QUANTITY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(i64);

impl Quantity {
    pub fn parse(field: &'static str, raw: i64) -> Result<Self, ValidationError> {
        if !(0..=MAX_QUANTITY).contains(&raw) {
            return Err(ValidationError::new(
                field,
                format!("must be between 0 and {MAX_QUANTITY}, got {raw}"),
            ));
        }
        Ok(Self(raw))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A signed change of stock: negative withdraws, positive receives, never zero, and at most
/// `MAX_QUANTITY` either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Delta(i64);

impl Delta {
    pub fn parse(raw: i64) -> Result<Self, ValidationError> {
        if raw == 0 {
            return Err(ValidationError::new("delta", "must not be zero"));
        }
        if !(-MAX_QUANTITY..=MAX_QUANTITY).contains(&raw) {
            return Err(ValidationError::new(
                "delta",
                format!("must be between -{MAX_QUANTITY} and {MAX_QUANTITY}, got {raw}"),
            ));
        }
        Ok(Self(raw))
    }

    /// A withdrawal of `quantity` units, as an order line makes.
    pub fn withdrawal(quantity: Quantity) -> Option<Self> {
        Self::parse(-quantity.get()).ok()
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// Why stock changed, as the caller tells it (free text, at most 200 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "reason",
                "must be at most 200 characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sku_accepts_the_documented_alphabet_only() {
        assert!(Sku::parse("ABC-123_x.9").is_ok());
        for bad in ["", "has space", "ümlaut", "semi;colon", &"x".repeat(65)] {
            assert!(Sku::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(Sku::parse(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn name_is_trimmed_and_bounded() {
        assert_eq!(
            ProductName::parse("  Tea  ").map(|n| n.0),
            Ok("Tea".to_owned())
        );
        assert!(ProductName::parse("   ").is_err());
        assert!(ProductName::parse(&"é".repeat(200)).is_ok());
        assert!(ProductName::parse(&"é".repeat(201)).is_err());
    }

    #[test]
    fn quantity_and_delta_bounds() {
        assert!(Quantity::parse("stock", 0).is_ok());
        assert!(Quantity::parse("stock", -1).is_err());
        assert!(Quantity::parse("stock", MAX_QUANTITY + 1).is_err());
        assert!(Delta::parse(0).is_err());
        assert!(Delta::parse(-MAX_QUANTITY).is_ok());
        assert!(Delta::parse(i64::MIN).is_err());
        assert_eq!(Delta::withdrawal(Quantity(3)).map(Delta::get), Some(-3));
    }
}
