//! The US National Provider Identifier: ten digits whose last is a Luhn check digit computed over
//! the card-issuer prefix `80840` followed by the first nine (CMS, "NPI check digit"). This only
//! catches typing mistakes; whether the number belongs to the applicant is the registrar's check
//! (in production, against the NPPES registry: docs/provider-directory.md).

/// Why a string is not an NPI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NpiError {
    #[error("an NPI is exactly 10 digits")]
    NotTenDigits,
    #[error("the last digit of this NPI does not match the others (check digit); look for a typing mistake")]
    CheckDigit,
}

/// Checks the form and the check digit of `npi`.
pub fn check(npi: &str) -> Result<(), NpiError> {
    let digits: Vec<u32> = npi.chars().map(|c| c.to_digit(10)).collect::<Option<_>>().ok_or(NpiError::NotTenDigits)?;
    if digits.len() != 10 || !npi.is_ascii() {
        return Err(NpiError::NotTenDigits);
    }
    if check_digit(&digits[..9]) == digits[9] { Ok(()) } else { Err(NpiError::CheckDigit) }
}

/// The Luhn check digit of `80840 ‖ first_nine`.
fn check_digit(first_nine: &[u32]) -> u32 {
    let payload = [8, 0, 8, 4, 0].iter().chain(first_nine);
    // Luhn doubles every second digit counting from the right of the payload (the check digit
    // position excluded), starting with the rightmost.
    let digits: Vec<u32> = payload.copied().collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| if i % 2 == 0 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d })
        .sum();
    (10 - sum % 10) % 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_cms_example_and_real_shaped_numbers() {
        // CMS's worked example: 123456789 → check digit 3.
        assert_eq!(check("1234567893"), Ok(()));
        assert_eq!(check("1245319599"), Ok(()));
    }

    #[test]
    fn refuses_a_changed_digit_and_bad_forms() {
        assert_eq!(check("1234567890"), Err(NpiError::CheckDigit));
        assert_eq!(check("1234567839"), Err(NpiError::CheckDigit), "two digits swapped");
        assert_eq!(check("123456789"), Err(NpiError::NotTenDigits));
        assert_eq!(check("12345678930"), Err(NpiError::NotTenDigits));
        assert_eq!(check("12345 7893"), Err(NpiError::NotTenDigits));
        assert_eq!(check("١٢٣٤٥٦٧٨٩٣"), Err(NpiError::NotTenDigits), "non-ASCII digits");
    }
}
