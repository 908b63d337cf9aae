//! COM result codes and well-known interface identifiers.

use crate::Guid;

/// A COM result code (`HRESULT`): negative values are failures.
pub type HResult = i32;

/// The call succeeded.
pub const S_OK: HResult = 0;
/// The call succeeded with a "false" or partial outcome.
pub const S_FALSE: HResult = 1;
/// The method is not implemented.
pub const E_NOTIMPL: HResult = 0x8000_4001_u32 as i32;
/// The object does not support the requested interface.
pub const E_NOINTERFACE: HResult = 0x8000_4002_u32 as i32;
/// A required pointer argument was null.
pub const E_POINTER: HResult = 0x8000_4003_u32 as i32;
/// Unspecified failure.
pub const E_FAIL: HResult = 0x8000_4005_u32 as i32;
/// Catastrophic or unexpected failure.
pub const E_UNEXPECTED: HResult = 0x8000_ffff_u32 as i32;
/// Out of memory.
pub const E_OUTOFMEMORY: HResult = 0x8007_000e_u32 as i32;
/// An argument was invalid.
pub const E_INVALIDARG: HResult = 0x8007_0057_u32 as i32;
/// A class factory was asked for aggregation, which the class does not support.
pub const CLASS_E_NOAGGREGATION: HResult = 0x8004_0110_u32 as i32;
/// `DllGetClassObject` was asked for a class the DLL does not provide.
pub const CLASS_E_CLASSNOTAVAILABLE: HResult = 0x8004_0111_u32 as i32;

/// Interface identifier of `IUnknown`, `{00000000-0000-0000-C000-000000000046}`.
pub const IID_IUNKNOWN: Guid = Guid::from_u128(0x0000_0000_0000_0000_c000_0000_0000_0046);

/// Interface identifier of `IClassFactory`, `{00000001-0000-0000-C000-000000000046}`.
pub const IID_ICLASSFACTORY: Guid = Guid::from_u128(0x0000_0001_0000_0000_c000_0000_0000_0046);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hresult_values() {
        let failures = [E_NOTIMPL, E_NOINTERFACE, E_POINTER, E_FAIL, E_UNEXPECTED];
        assert!(failures.iter().all(|&hr| hr < 0));
        assert!([S_OK, S_FALSE].iter().all(|&hr| hr >= 0));
        assert_eq!(E_NOINTERFACE as u32, 0x8000_4002);
        assert_eq!(E_POINTER as u32, 0x8000_4003);
        assert_eq!(
            IID_ICLASSFACTORY,
            Guid::parse("{00000001-0000-0000-C000-000000000046}").unwrap()
        );
    }
}
