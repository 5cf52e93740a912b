//! The source's example requests (frontol-loyalty.md §5), in the "(card)" form of §13: the
//! `mobilePhone` alternative and both `//` comment lines removed; trailing commas kept where the
//! source has them.

/// TV-L1: the one-line body of LOY-17 (241 characters, 251 bytes).
pub const AUTH_BODY: &str = r#"{ "positions": [], "organization": "Мой магазин", "action": "calculate", "uid": "", "businessUnit": "4", "dateTime": "2018-07-16T10:18:44.955+03:00", "number": 0, "shift": 0, "type": "receipt", "workPlace": "5", "client": { "card": "123" } }"#;

pub const SALE_UID: &str = "ca8a85dc-f8b5-4589-b4e7-d8edb44c72bf";

pub const CALC: &str = r#"{
    "action": "calculate",
    "dateTime": "2017-10-09T18:31:42.201+0300",
    "organization": "ООО Ромашка",
    "businessUnit": "Магазин на ул. Ленина",
    "workPlace": "POS 12",
    "client": {
        "card": "9070000000001000"
    },
    "number": 12346,
    "shift": 23,
    "uid": "ca8a85dc-f8b5-4589-b4e7-d8edb44c72bf",
    "type": "receipt",
    "positions": [
        {
            "index": 1,
            "id": "120474",
            "text": "Радиоуправляемый Квадрокоптер",
            "price": 2500.00,
            "minimumPrice": 1000.00,
            "quantity": 2.000,
            "totalAmount": 4000.00
        },
        {
            "index": 2,
            "id": "aa234",
            "text": "Ваф. трубочки Вереск крем-брюле 200г на фруктозе",
            "price": 54.20,
            "minimumPrice": 0.00,
            "quantity": 2.000,
            "totalAmount": 100.00
        },
        {
            "index": 3,
            "id": "70259",
            "text": "Колбаса Майкопская с/к в/с ГОСТ Дмитровские колбасы",
            "price": 780.90,
            "minimumPrice": 700.00,
            "quantity": 0.732,
            "totalAmount": 571.62
        }
    ]
}"#;

pub const PAY: &str = r#"{
    "action": "payByBonus",
    "payment": {
        "mode": "nonFiscal",
        "amount": 600.00
    },
    "dateTime": "2017-10-09T18:31:42.201+0300",
    "organization": "ООО Ромашка",
    "businessUnit": "Магазин на ул. Ленина",
    "workPlace": "POS 12",
    "client": {
        "card": "9070000000001000"
    },
    "number": 12346,
    "shift": 23,
    "uid": "ca8a85dc-f8b5-4589-b4e7-d8edb44c72bf",
    "type": "receipt",
    "positions": [
        {
            "index": 1,
            "id": "120474",
            "text": "Радиоуправляемый Квадрокоптер",
            "price": 2500.00,
            "minimumPrice": 1000.00,
            "quantity": 2.000,
            "totalAmount": 3500.00
        },
        {
            "index": 2,
            "id": "aa234",
            "text": "Ваф. трубочки Вереск крем-брюле 200г на фруктозе",
            "price": 54.20,
            "minimumPrice": 0.00,
            "quantity": 2.000,
            "totalAmount": 0.00
        },
        {
            "index": 3,
            "id": "70259",
            "text": "Колбаса Майкопская с/к в/с ГОСТ Дмитровские колбасы",
            "price": 780.90,
            "minimumPrice": 700.00,
            "quantity": 0.732,
            "totalAmount": 521.62
        }
    ]
}"#;

pub const CANCEL: &str = r#"{
    "action": "cancelBonusPayment",
    "payment": {
        "mode": "nonFiscal",
        "amount": 600.00
    },
    "dateTime": "2017-10-09T18:31:42.201+0300",
    "organization": "ООО Ромашка",
    "businessUnit": "Магазин на ул. Ленина",
    "workPlace": "POS 12",
    "client": {
        "card": "9070000000001000"
    },
    "number": 12346,
    "shift": 23,
    "uid": "947277c5-04d5-4ef4-9150-385214b42367",
    "type": "receipt",
    "positions": [
        {
            "index": 1,
            "id": "120474",
            "text": "Радиоуправляемый Квадрокоптер",
            "price": 2500.00,
            "minimumPrice": 1000.00,
            "quantity": 2.000,
            "totalAmount": 2909.12
        },
        {
            "index": 2,
            "id": "aa234",
            "text": "Ваф. трубочки Вереск крем-брюле 200г на фруктозе",
            "price": 54.20,
            "minimumPrice": 0.00,
            "quantity": 2.000,
            "totalAmount": 0.00
        },
        {
            "index": 3,
            "id": "70259",
            "text": "Колбаса Майкопская с/к в/с ГОСТ Дмитровские колбасы",
            "price": 780.90,
            "minimumPrice": 700.00,
            "quantity": 0.732,
            "totalAmount": 512.40
        },
    ],
    "payments": [
        {
            "type": "bonus",
            "mode": "nonFiscal",
            "amount": 600.00
        }
    ]
}"#;

pub const CONFIRM: &str = r#"{
    "action": "confirm",
    "dateTime": "2017-10-09T18:31:42.201+0300",
    "organization": "ООО Ромашка",
    "businessUnit": "Магазин на ул. Ленина",
    "workPlace": "POS 12",
    "client": {
        "card": "9070000000001000"
    },
    "number": 12346,
    "shift": 23,
    "uid": "ca8a85dc-f8b5-4589-b4e7-d8edb44c72bf",
    "type": "receipt",
    "positions": [
        {
            "index": 1,
            "id": "120474",
            "text": "Радиоуправляемый Квадрокоптер",
            "price": 2500.00,
            "minimumPrice": 1000.00,
            "quantity": 2.000,
            "totalAmount": 2909.12
        },
        {
            "index": 2,
            "id": "aa234",
            "text": "Ваф. трубочки Вереск крем-брюле 200г на фруктозе",
            "price": 54.20,
            "minimumPrice": 0.00,
            "quantity": 2.000,
            "totalAmount": 0.00
        },
        {
            "index": 3,
            "id": "70259",
            "text": "Колбаса Майкопская с/к в/с ГОСТ Дмитровские колбасы",
            "price": 780.90,
            "minimumPrice": 700.00,
            "quantity": 0.732,
            "totalAmount": 512.40
        },
    ],
    "discardedAmount": 0.52,
    "payments": [
        {
            "type": "bonus",
            "mode": "nonFiscal",
            "amount": 600.00
        },
        {
            "type": "cash",
            "mode": "fiscal",
            "amount": 3000.00
        },
        {
            "type": "creditCard",
            "mode": "fiscal",
            "amount": 421.00
        }
    ]
}"#;

pub const REFUND: &str = r#"{
    "action": "confirm",
    "dateTime": "2017-10-09T18:31:42.201+0300",
    "organization": "ООО Ромашка",
    "businessUnit": "Магазин на ул. Ленина",
    "workPlace": "POS 12",
    "client": {
        "card": "9070000000001000"
    },
    "number": 12346,
    "shift": 23,
    "uid": "947277c5-04d5-4ef4-9150-385214b42367",
    "referenceUid": "ca8a85dc-f8b5-4589-b4e7-d8edb44c72bf",
    "type": "refundReceipt",
    "positions": [
        {
            "index": 1,
            "id": "120474",
            "text": "Радиоуправляемый Квадрокоптер",
            "price": 2500.00,
            "minimumPrice": 1000.00,
            "quantity": 2.000,
            "totalAmount": 2909.12
        },
        {
            "index": 2,
            "id": "aa234",
            "text": "Ваф. трубочки Вереск крем-брюле 200г на фруктозе",
            "price": 54.20,
            "minimumPrice": 0.00,
            "quantity": 2.000,
            "totalAmount": 0.00
        },
        {
            "index": 3,
            "id": "70259",
            "text": "Колбаса Майкопская с/к в/с ГОСТ Дмитровские колбасы",
            "price": 780.90,
            "minimumPrice": 700.00,
            "quantity": 0.732,
            "totalAmount": 512.40
        },
    ],
    "discardedAmount": 0.52,
    "payments": [
        {
            "type": "bonus",
            "mode": "nonFiscal",
            "amount": 600.00
        },
        {
            "type": "cash",
            "mode": "fiscal",
            "amount": 3000.00
        },
        {
            "type": "creditCard",
            "mode": "fiscal",
            "amount": 421.00
        }
    ]
}"#;

pub const CLIENT: &str = r#"{
    "dateTime": "2017-10-09T18:31:42.201+0300",
    "organization": "ООО Ромашка",
    "businessUnit": "Магазин на ул. Ленина",
    "workPlace": "POS 12",
    "client": {
        "card": "9070000000001000"
    }
}"#;
