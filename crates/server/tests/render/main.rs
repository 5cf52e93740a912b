//! Document images and text over HTTP (CORE-81, CORE-38): a document registered through
//! `POST /api/registers/{id}/documents` and fetched back as a PNG and as text lines, on SQLite and
//! (when `KASSA_TEST_PG_URL` is set) PostgreSQL; bad parameters answer 422 in the admin envelope.

#[path = "../common/mod.rs"]
mod common;

use common::{ADMIN_TOKEN, TestApp, skip_pg, spawn_app, spawn_app_pg, test_config};
use kassa_render::Options;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn tenant() -> Value {
    json!({
        "id": "shop",
        "group": [{"code": "G", "inn": "7701234567", "payment_address": "shop.ru", "sno": ["osn"]}],
        "register": [{"id": "R1", "profile": "ru", "group": "G", "fn_number": "9999078900001234"}]
    })
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    reqwest::Client::new().get(app.url(path)).bearer_auth(ADMIN_TOKEN).send().await.unwrap()
}

/// Decodes a 1-bit PNG: (width, height, black pixels).
fn decode(bytes: &[u8]) -> (u32, u32, Vec<bool>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().expect("PNG header");
    let (w, h) = (reader.info().width, reader.info().height);
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buf).expect("PNG data");
    let stride = frame.line_size;
    let px = (0..h)
        .flat_map(|y| (0..w).map(move |x| (y, x)))
        .map(|(y, x)| buf[y as usize * stride + x as usize / 8] & (0x80 >> (x % 8)) == 0)
        .collect();
    (w, h, px)
}

fn qr_codes(bytes: &[u8]) -> Vec<String> {
    let (w, h, px) = decode(bytes);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| if px[y * w as usize + x] { 0 } else { 255 });
    img.detect_grids().into_iter().map(|g| g.decode().expect("QR decodes").1).collect()
}

async fn image_and_text_of_a_registered_receipt(app: TestApp) {
    assert_eq!(app.client.put_tenant("shop", &tenant()).await.unwrap().status, StatusCode::OK);
    let receipt = json!({
        "type": "receipt", "operation": "sell", "sno": "osn", "cashier": "Иванова Мария",
        "items": [
            {"name": "Молоко 3,2%", "price": 89.90, "quantity": 2, "sum": 179.80, "tax": "vat10", "tax_sum": 16.35},
            {"name": "Хлеб", "price": 55, "quantity": 1, "sum": 55, "tax": "vat20", "tax_sum": 9.17}
        ],
        "payments": [{"type": 0, "sum": 300}],
        "total": 234.80
    });
    let r = reqwest::Client::new()
        .post(app.url("/api/registers/R1/documents"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&receipt)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    let docs = body["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 2, "the shift opens first");
    let entry = &docs[1];
    let (seq, qr) = (entry["seq"].as_u64().unwrap(), entry["qr"].as_str().unwrap().to_owned());

    // CORE-38 defaults: 384 px, scale 1.0, threshold 128.
    let r = get(&app, &format!("/api/registers/R1/documents/{seq}/image")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    let png = r.bytes().await.unwrap().to_vec();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(decode(&png).0, 384);
    assert_eq!(qr_codes(&png), [qr.as_str()], "ITK-94: the receipt's QR string, as a QR code");
    // The engine gives the same bytes (deterministic, and the route adds nothing).
    let engine = app.core.fiscal().document_image("R1", seq, &Options::default(), true).await.unwrap();
    assert_eq!(png, engine);
    let again = get(&app, &format!("/api/registers/R1/documents/{seq}/image?width=0&threshold=128")).await;
    assert_eq!(again.bytes().await.unwrap().to_vec(), png, "width 0 means 384 (CORE-38)");

    // The cash-core example parameters: 576 px, scale 1.3, threshold 192.
    let r = get(&app, &format!("/api/registers/R1/documents/{seq}/image?width=576&scale=1.3&threshold=192")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let wide = r.bytes().await.unwrap();
    assert_eq!(decode(&wide).0, 576);
    assert_eq!(qr_codes(&wide), [qr.as_str()]);

    // Text lines.
    let r = get(&app, &format!("/api/registers/R1/documents/{seq}/text?width=32")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let text: Value = r.json().await.unwrap();
    let lines: Vec<&str> = text["lines"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    assert!(lines.iter().all(|l| l.chars().count() <= 32 && l.trim_end() == *l), "{lines:#?}");
    let total = lines.iter().find(|l| l.starts_with("ИТОГ")).unwrap();
    assert_eq!(total.chars().count(), 32);
    assert!(total.ends_with("234,80 ₽"), "{total}");
    assert!(lines.iter().any(|l| l.starts_with("СДАЧА") && l.ends_with("65,20")));
    assert!(lines.iter().any(|l| l.trim() == "shop.ru") && lines.iter().any(|l| l.trim() == "ИНН 7701234567"));
    assert!(lines.concat().contains(&qr));
    let default = get(&app, &format!("/api/registers/R1/documents/{seq}/text")).await.json::<Value>().await.unwrap();
    assert!(default["lines"].as_array().unwrap().iter().any(|l| l.as_str().unwrap().chars().count() == 42), "default width 42");
    // CORE-59: a copy is marked; the original is not.
    let copy = get(&app, &format!("/api/registers/R1/documents/{seq}/text?is_original=false")).await.json::<Value>().await.unwrap();
    assert!(copy["lines"].as_array().unwrap().iter().any(|l| l.as_str().unwrap().trim() == "КОПИЯ"));
    assert!(!default["lines"].as_array().unwrap().iter().any(|l| l.as_str().unwrap().trim() == "КОПИЯ"));
    let copy_png = get(&app, &format!("/api/registers/R1/documents/{seq}/image?is_original=false")).await.bytes().await.unwrap();
    assert_ne!(copy_png.to_vec(), png);
    assert_eq!(decode(&copy_png).0, 384);
    // The shift opening renders too.
    let open = get(&app, "/api/registers/R1/documents/1/text").await.json::<Value>().await.unwrap();
    assert!(open["lines"].as_array().unwrap().iter().any(|l| l.as_str().unwrap().trim() == "ОТЧЁТ ОБ ОТКРЫТИИ СМЕНЫ"));

    // Bad parameters: 422 in the admin envelope (CORE-38 validation: negative width or scale,
    // threshold outside 0..255; and this build's limits).
    for query in [
        "image?width=-1",
        "image?width=2000",
        "image?width=abc",
        "image?scale=-1",
        "image?scale=abc",
        "image?scale=5",
        "image?threshold=256",
        "image?threshold=-1",
        "image?colour=red",
        "image?width=384&scale=4",
        "text?width=5",
        "text?width=161",
        "text?width=x",
        "text?scale=1",
        "text?is_original=yes",
    ] {
        let r = get(&app, &format!("/api/registers/R1/documents/{seq}/{query}")).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid", "{query}: {body}");
    }
    for path in ["/api/registers/R1/documents/0/image", "/api/registers/R1/documents/x/text"] {
        assert_eq!(get(&app, path).await.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
    }
    for path in ["/api/registers/R1/documents/99/image", "/api/registers/R9/documents/1/text"] {
        let r = get(&app, path).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "not_found");
    }
    let anonymous = reqwest::get(app.url(&format!("/api/registers/R1/documents/{seq}/image"))).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn image_and_text_on_sqlite() {
    image_and_text_of_a_registered_receipt(spawn_app().await).await;
}

#[tokio::test]
async fn image_and_text_on_postgres() {
    let Some(app) = spawn_app_pg(test_config()).await else {
        return skip_pg("image_and_text_on_postgres");
    };
    image_and_text_of_a_registered_receipt(app).await;
}

/// The demo-like KZ KKM (cash-core.md §7.4: vendor id ISCR1018036404743, OFD id 6923).
const KKM: &str = "ISCR1018036404743";

fn kz_tenant() -> Value {
    json!({
        "id": "kz",
        "group": [{"code": "KZG", "inn": "990140000123", "payment_address": "Алматы, ул. Абая 1", "sno": ["osn"]}],
        "register": [{"id": KKM, "profile": "kz", "group": "KZG", "ofd_id": "6923", "reg_number": "010100134464"}]
    })
}

async fn kz_command(app: &TestApp, body: Value) -> Value {
    let r = reqwest::Client::new()
        .post(app.url(&format!("/api/registers/{KKM}/documents")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    body["documents"].as_array().unwrap().last().cloned().unwrap()
}

async fn text_lines(app: &TestApp, seq: u64, query: &str) -> Vec<String> {
    let r = get(app, &format!("/api/registers/{KKM}/documents/{seq}/text{query}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    body["lines"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_owned()).collect()
}

/// CORE-81: a KZ ticket, money placement and X report registered through the admin route print
/// through the engine's journal: the PNG has the requested width (CORE-38) and the ticket's QR
/// code decodes to its `qr_code` (CORE-100); the text has the fiscal id, ₸ amounts and the
/// KKM's registration data from its stored state.
async fn kz_documents_render(app: TestApp) {
    assert_eq!(app.client.put_tenant("kz", &kz_tenant()).await.unwrap().status, StatusCode::OK);
    let ticket = kz_command(
        &app,
        json!({"request": {"command": "trade", "operation": 2,
            "items": [{"type": 1, "commodity": {"name": "Хлеб", "section_code": "1", "quantity": 1,
                "price": 250, "sum": 250, "measure_unit_code": "796", "taxes": []}}],
            "payments": [{"type": 0, "sum": 250}]},
         "caller": {"code": 2, "name": "Кассир Айгерим"}}),
    )
    .await;
    assert_eq!(ticket["kind"], "ticket");
    let seq = ticket["seq"].as_u64().unwrap();
    let qr = ticket["qr"].as_str().unwrap().to_owned();
    let envelope: Value = serde_json::from_str(ticket["doc"].as_str().unwrap()).unwrap();
    let fiscal_id = envelope["document"]["fiscal_id"].as_str().unwrap().to_owned();
    assert_eq!(envelope["document"]["qr_code"].as_str(), Some(qr.as_str()));
    assert!(!fiscal_id.is_empty() && qr.contains(&fiscal_id), "online ticket: {envelope}");

    let r = get(&app, &format!("/api/registers/{KKM}/documents/{seq}/image?width=576")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    let png = r.bytes().await.unwrap().to_vec();
    std::fs::write(std::env::temp_dir().join("kassa-kz-ticket.png"), &png).unwrap();
    assert_eq!(decode(&png).0, 576);
    assert_eq!(qr_codes(&png), [qr.as_str()], "CORE-100: the ticket's qr_code as a QR code");
    // The engine gives the same bytes; a copy differs (CORE-59).
    let options = Options::from_request(Some(576), None, None).unwrap();
    assert_eq!(app.core.fiscal().document_image(KKM, seq, &options, true).await.unwrap(), png);
    assert_ne!(app.core.fiscal().document_image(KKM, seq, &options, false).await.unwrap(), png);

    let lines = text_lines(&app, seq, "").await;
    let all = lines.join("\n");
    assert!(lines.iter().all(|l| l.chars().count() <= 42), "{lines:#?}");
    assert!(all.contains(&fiscal_id), "the fiscal id: {all}");
    assert!(all.contains('₸') && all.contains("250"), "₸ amounts: {all}");
    assert!(all.contains("ФИСКАЛЬНЫЙ ЧЕК") && all.contains("Хлеб") && all.contains("Кассир Айгерим"), "{all}");
    // The request's decimal quantity is stored in thousandths and prints as one unit again.
    assert!(lines.iter().any(|l| l.trim_start().starts_with("1 дана/шт × 250,00")), "{all}");
    // Registration data from the stored KZ state: vendor id, OFD id, KGD id, BIN, address.
    for part in [KKM, "6923", "010100134464", "990140000123", "Алматы, ул. Абая 1"] {
        assert!(all.contains(part), "{part}: {all}");
    }
    assert!(!all.contains("КОПИЯ"));
    assert!(text_lines(&app, seq, "?is_original=false").await.join("\n").contains("КӨШІРМЕ / КОПИЯ"));

    // A money placement and an X report print too.
    let deposit = kz_command(&app, json!({"request": {"command": "money_placement", "operation": 0, "sum": 500}})).await;
    assert_eq!(deposit["kind"], "money_placement");
    let dep = text_lines(&app, deposit["seq"].as_u64().unwrap(), "?width=32").await.join("\n");
    assert!(dep.contains("500") && dep.contains('₸'), "{dep}");
    let x = kz_command(&app, json!({"request": {"command": "report", "report_type": 1}})).await;
    assert_eq!(x["kind"], "x_report");
    let x_seq = x["seq"].as_u64().unwrap();
    let x_text = text_lines(&app, x_seq, "").await.join("\n");
    assert!(x_text.contains("750") && x_text.contains('₸'), "cash 250 + 500: {x_text}");
    let r = get(&app, &format!("/api/registers/{KKM}/documents/{x_seq}/image?width=576")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let x_png = r.bytes().await.unwrap().to_vec();
    std::fs::write(std::env::temp_dir().join("kassa-kz-x.png"), &x_png).unwrap();
    assert_eq!(decode(&x_png).0, 576);
    assert!(qr_codes(&x_png).is_empty(), "reports carry no QR code");
    app.stop().await;
}

#[tokio::test]
async fn kz_documents_render_on_sqlite() {
    kz_documents_render(spawn_app().await).await;
}

#[tokio::test]
async fn kz_documents_render_on_postgres() {
    let Some(app) = spawn_app_pg(test_config()).await else {
        return skip_pg("kz_documents_render_on_postgres");
    };
    kz_documents_render(app).await;
}
