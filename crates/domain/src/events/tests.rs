//! Unit tests of the event model; the HTTP-level test vectors are in the server's `events` tests.

use super::*;
use serde_json::json;

pub const EX_MULTI: &str = r#"{
 organization: "ООО Ромашка",
 businessUnit: "Магазин на ул. Ленина",
 workPlace: "POS 12",
 events:
 [
  {
   event: "REG_DOCUMENT_OPEN",
   groupId: "71a06a2b",
   dateTime: "2017-10-09T18:31:45.899+0300",
   cashierName: "Иванов Иван Иванович",
   index:" 0",
   input: "",
   type: "receipt",
   shift:" 59",
   number:" 83",
   mode: "fiscal"
  },
  {
   event: "REG_POSITION_REGISTRATION",
   groupId: "71a06a2b",
   dateTime: "2017-10-09T18:32:15.311+0300",
   cashierName: "Иванов Иван Иванович",
   index:" 1",
   input: "",
   id:" 542",
   text: "активия 125г клубника",
   type: "goods",
   barcode: "4601735000011",
   price:" 59.99",
   quantity:" 2.000",
   sum:" 119.98",
   discount:" 0.00"
  }
 ]
}"#;

#[test]
fn tv_e3_evt_33_evt_35_ex_multi_normalises() {
    let b = parse_batch(EX_MULTI.as_bytes(), DEFAULT_HARD_LIMIT).unwrap();
    assert_eq!(b.envelope.organization, "ООО Ромашка");
    assert_eq!(b.envelope.work_place, "POS 12");
    assert!(b.warnings.is_empty());
    let [open, pos] = &b.events[..] else { panic!("two events") };
    assert_eq!(open.name, "REG_DOCUMENT_OPEN");
    assert_eq!(open.fields["index"], json!(0));
    assert_eq!(open.fields["shift"], json!(59));
    assert_eq!(open.fields["number"], json!(83));
    assert_eq!(open.group_id, "71a06a2b");
    assert_eq!(pos.fields["id"], json!("542"));
    let raw: Value = serde_json::from_str(&pos.raw).unwrap();
    assert_eq!(raw["id"], json!(" 542")); // EVT-36: raw kept
    assert_eq!(pos.fields["price"].to_string(), "59.99");
    assert_eq!(pos.fields["quantity"].to_string(), "2.000");
    assert_eq!(pos.fields["sum"].to_string(), "119.98");
    assert_eq!(pos.fields["discount"].to_string(), "0.00");
    assert!(open.warnings.is_empty() && pos.warnings.is_empty(), "{:?} {:?}", open.warnings, pos.warnings);
}

#[test]
fn tv_e5_evt_39_json_numbers_dedup_like_numeric_strings() {
    let a = parse_batch(EX_MULTI.as_bytes(), DEFAULT_HARD_LIMIT).unwrap();
    let strict = json!({"organization":"ООО Ромашка","businessUnit":"Магазин на ул. Ленина","workPlace":"POS 12","events":[
        {"event":"REG_DOCUMENT_OPEN","groupId":"71a06a2b","dateTime":"2017-10-09T15:31:45.899Z","cashierName":"Иванов Иван Иванович","index":0,"input":"","type":"receipt","shift":59,"number":83,"mode":"fiscal"},
        {"event":"REG_POSITION_REGISTRATION","groupId":"71a06a2b","dateTime":"2017-10-09T18:32:15.311+03:00","cashierName":"Иванов Иван Иванович","index":1,"input":"","id":"542","text":"активия 125г клубника","type":"goods","barcode":"4601735000011","price":59.99,"quantity":2,"sum":119.98,"discount":0}
    ]});
    let b = parse_batch(strict.to_string().as_bytes(), DEFAULT_HARD_LIMIT).unwrap();
    for (x, y) in a.events.iter().zip(&b.events) {
        assert_eq!(x.dedup_key(&a.envelope), y.dedup_key(&b.envelope));
    }
    assert_ne!(a.events[0].dedup_key(&a.envelope), a.events[1].dedup_key(&a.envelope));
    let other = Envelope { work_place: "POS 13".into(), ..a.envelope.clone() };
    assert_ne!(a.events[0].dedup_key(&a.envelope), a.events[0].dedup_key(&other));
}

#[test]
fn tv_e6_evt_18_evt_24_evt_29_aliases() {
    let body = json!({"organization":"o","businessUnit":"b","workPlace":"w","events":[
        {"event":"SYS_LOGIN_","type":"password","groupId":"1","dateTime":"2017-10-09T18:31:42.201+03:00","index":0},
        {"event":"REG_PAYMENT_REGISTRATION","type":"credit card","mode":"fiscal","payment":" 100.00","groupId":"2","dateTime":"2017-10-09T18:31:42.201+03:00","index":1},
        {"event":"REG_PAYMENT_REGISTRATION","type":"creditCard","mode":"fiscal","payment":"100","groupId":"2","dateTime":"2017-10-09T18:31:42.201+03:00","index":1},
        {"event":"REG_PAYMENT_REGISTRATION","type":"CREDIT CARD","groupId":"3","dateTime":"2017-10-09T18:31:42.201+03:00"},
        {"event":"REG_DOCUMENT_OPEN","type":"editingEmployees","groupId":"4","dateTime":"2017-10-09T18:31:42.201+03:00"}
    ]});
    let b = parse_batch(body.to_string().as_bytes(), DEFAULT_HARD_LIMIT).unwrap();
    assert_eq!(b.events[0].name, "SYS_LOGIN");
    assert_eq!(b.events[0].group, EventGroup::System);
    assert_eq!(b.events[1].str_field("type"), "credit card");
    assert_eq!(b.events[1].fields["payment"].to_string(), "100.00");
    // The two spellings of the same payment are one event (EVT-24, EVT-39).
    assert_eq!(b.events[1].dedup_key(&b.envelope), b.events[2].dedup_key(&b.envelope));
    assert_eq!(b.events[3].str_field("type"), "credit card");
    assert_eq!(b.events[4].str_field("type"), "editingEmloyees");
    assert!(b.events.iter().all(|e| e.warnings.iter().all(|w| !w.contains("unknown type"))));
}

#[test]
fn tv_e7_evt_15_evt_32_evt_37_unknown_event_kept_with_group_from_prefix() {
    let e = normalise(json!({"event":"FUNC_SOMETHING","groupId":"0000abcd","dateTime":"2017-10-09T18:31:42.201+03:00","cashierName":"","index":0,"input":""}));
    assert_eq!(e.group, EventGroup::Unknown);
    assert!(e.warnings.iter().any(|w| w.contains("unknown event")));
    assert_eq!(normalise(json!({"event":"ERR_NEW_THING"})).group, EventGroup::Error);
    assert_eq!(normalise(json!({"event":"ACT_ACTIVITY"})).group, EventGroup::Activity);
}

#[test]
fn evt_35_evt_37_bad_values_are_flagged_not_rejected() {
    let e = normalise(json!({"event":"REG_DOCUMENT_OPEN","index":"1.5","shift":"abc","sum":"1.005","price":" ","quantity":"1.0000","type":"weird","mode":"x","extra":1,"groupId":"g","dateTime":"yesterday"}));
    for w in ["'index' is not an integer", "'shift' is not a number", "'sum' is not an amount", "unknown type 'weird'", "unknown mode", "unknown field 'extra'", "'dateTime' is not an ISO 8601"] {
        assert!(e.warnings.iter().any(|x| x.contains(w)), "missing {w}: {:?}", e.warnings);
    }
    assert!(!e.fields.contains_key("price"), "blank string counts as absent");
    assert_eq!(e.fields["quantity"].to_string(), "1.000");
    assert_eq!(e.occurred_ms, None);
    let e = normalise(json!({"event":"ERR_USER_ERROR","index":"2.0","number":" -7 ","change":"-5.5"}));
    assert_eq!(e.fields["index"], json!(2));
    assert_eq!(e.fields["number"], json!(-7));
    assert_eq!(e.fields["change"].to_string(), "-5.50");
    assert_eq!(normalise(json!(5)).warnings, ["the event is not an object"]);
}

#[test]
fn evt_8_evt_11_evt_41_envelope_errors_and_limits() {
    assert!(matches!(parse_batch(b"not json", 10), Err(BatchError::Syntax(_))));
    assert!(matches!(parse_batch(b"[1]", 10), Err(BatchError::NotEnvelope(_))));
    assert!(matches!(parse_batch(b"{events:5}", 10), Err(BatchError::NotEnvelope(_))));
    assert!(matches!(parse_batch(b"{}", 10), Err(BatchError::NotEnvelope(_))));
    assert!(matches!(parse_batch(&[0xff, 0xfe], 10), Err(BatchError::NotUtf8)));
    let many = format!("{{\"events\":[{}]}}", ["{}"; 11].join(","));
    assert_eq!(parse_batch(many.as_bytes(), 10), Err(BatchError::TooMany { count: 11, limit: 10 }));
    let b = parse_batch(br#"{"events":[]}"#, 10).unwrap();
    assert_eq!(b.warnings.len(), 3, "missing envelope fields are flagged: {:?}", b.warnings);
    assert!(b.events.is_empty());
}

proptest::proptest! {
    /// EVT-35: numeric strings with any padding read as the same exact value as the number.
    #[test]
    fn evt_35_padded_numeric_strings_equal_numbers(units in -10_000_000i64..10_000_000, pad_l in " {0,3}", pad_r in " {0,3}") {
        let text = Money::from_minor(units).to_string();
        let as_string = normalise(json!({"event":"REG_PAYMENT_REGISTRATION","payment": format!("{pad_l}{text}{pad_r}")}));
        let as_number = normalise(serde_json::from_str(&format!("{{\"event\":\"REG_PAYMENT_REGISTRATION\",\"payment\":{text}}}")).unwrap());
        proptest::prop_assert_eq!(&as_string.fields["payment"], &as_number.fields["payment"]);
        proptest::prop_assert!(as_string.warnings.iter().all(|w| !w.contains("payment")));
    }

    /// EVT-34/EVT-37: any object of arbitrary values normalises without panicking.
    #[test]
    fn evt_37_normalise_never_panics(fields in proptest::collection::btree_map(
        proptest::sample::select(vec!["event","groupId","dateTime","index","shift","price","quantity","sum","type","mode","zzz"]),
        proptest::prop_oneof![".{0,12}".prop_map(Value::String), proptest::num::i64::ANY.prop_map(Value::from), proptest::strategy::Just(Value::Null), proptest::strategy::Just(json!([1]))],
        0..8)) {
        let obj: Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let e = normalise(Value::Object(obj));
        let _ = e.dedup_key(&Envelope::default());
    }
}

use proptest::strategy::Strategy;
