//! Owned by the MMCSS service work (in progress).
