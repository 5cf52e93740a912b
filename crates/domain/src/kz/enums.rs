//! Enumerations of cash-core.md §5 that the fiscal logic uses. All travel as JSON integers.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! int_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:expr),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value in ascending code order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire code.
            #[must_use]
            pub const fn code(self) -> u32 {
                match self { $($name::$variant => $code),+ }
            }

            /// The value of a wire code, `None` outside the table.
            #[must_use]
            pub fn from_code(code: i64) -> Option<$name> {
                match code { $(c if c == $code => Some($name::$variant),)+ _ => None }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_u32(self.code())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let code = i64::deserialize(deserializer)?;
                $name::from_code(code).ok_or_else(|| serde::de::Error::custom(format_args!("invalid {} {code}", stringify!($name))))
            }
        }
    };
}

int_enum!(
    /// OperationTypeEnum: the receipt operation; also the index of `non_nullable_sums`.
    Operation {
        /// OPERATION_BUY: the business pays.
        Buy = 0,
        /// OPERATION_BUY_RETURN.
        BuyReturn = 1,
        /// OPERATION_SELL.
        Sell = 2,
        /// OPERATION_SELL_RETURN: refund to the customer.
        SellReturn = 3,
    }
);

impl Operation {
    /// Index into the 4-slot per-operation arrays.
    #[must_use]
    pub const fn index(self) -> usize {
        self.code() as usize
    }

    /// CORE-74/CORE-88: +1 when cash comes into the drawer (SELL, BUY_RETURN), −1 otherwise.
    #[must_use]
    pub const fn sign(self) -> i64 {
        match self {
            Operation::Sell | Operation::BuyReturn => 1,
            Operation::Buy | Operation::SellReturn => -1,
        }
    }
}

int_enum!(
    /// PaymentTypeEnum of this API (codes 2 and 3 are not accepted, §5).
    PaymentType {
        /// PAYMENT_CASH.
        Cash = 0,
        /// PAYMENT_CARD.
        Card = 1,
        /// PAYMENT_MOBILE.
        Mobile = 4,
    }
);

impl PaymentType {
    /// Slot in the 5-slot `total_payments` list (CORE-88).
    #[must_use]
    pub const fn slot(self) -> usize {
        self.code() as usize
    }
}

int_enum!(
    /// MoneyPlacementEnum.
    MoneyPlacementKind {
        /// MONEY_PLACEMENT_DEPOSIT.
        Deposit = 0,
        /// MONEY_PLACEMENT_WITHDRAWAL.
        Withdrawal = 1,
    }
);

impl MoneyPlacementKind {
    /// Index into the 2-slot arrays.
    #[must_use]
    pub const fn index(self) -> usize {
        self.code() as usize
    }
}

int_enum!(
    /// ReportTypeEnum.
    ReportType {
        /// REPORT_Z: closes the shift.
        Z = 0,
        /// REPORT_X: interim.
        X = 1,
    }
);

int_enum!(
    /// CommandTypeEnum: journal record type (`command`, `command_type`).
    CommandType {
        /// COMMAND_TICKET.
        Ticket = 1,
        /// COMMAND_CLOSE_SHIFT (Z report in the journal).
        CloseShift = 2,
        /// COMMAND_REPORT (X report in the journal; X and Z in responses, I-21).
        Report = 3,
        /// COMMAND_MONEY_PLACEMENT.
        MoneyPlacement = 6,
    }
);

int_enum!(
    /// DomainTypeEnum.
    DomainType {
        Trading = 0,
        Services = 1,
        Gasoil = 2,
        Hotels = 3,
        Taxi = 4,
        Parking = 5,
    }
);

int_enum!(
    /// ItemTypeEnum.
    ItemType {
        Commodity = 1,
        Markup = 3,
        Discount = 5,
    }
);

/// TaxationTypeEnum codes accepted on input (0 = not specified, CORE-70).
pub const TAXATION_TYPES: [i64; 5] = [0, 100, 101, 102, 103];
