//! The ATOL error catalogue: service errors (§9.2, ATOL-100) and KKT errors (§9.3, ATOL-101),
//! with their exact wire code, text, type, HTTP status and (for KKT errors) retry class.

use serde::{Deserialize, Serialize};

/// `error.type` on the wire (ATOL-97): lowercase; `none`/`unknown` are never emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorType {
    System,
    Agent,
    Driver,
    Timeout,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Agent => "agent",
            Self::Driver => "driver",
            Self::Timeout => "timeout",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::System, Self::Agent, Self::Driver, Self::Timeout].into_iter().find(|t| t.as_str() == s)
    }
}

/// The `error` member of registration and report answers: `{code, text, type}` (ATOL-95).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtolError {
    pub code: i32,
    pub text: String,
    #[serde(rename = "type")]
    pub kind: ErrorType,
}

/// `status` on the wire (ATOL-67, ATOL-93).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Wait,
    Done,
    Fail,
}

/// Service errors of §9.2 (ATOL-100): code, exact text, HTTP status, and the status sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceError {
    /// 1 — JSON parse error; the detail follows the D-28 prefix (ATOL-70).
    Parse(String),
    /// 2 — ErrorIncomingBadRequest.
    IncomingBadRequest,
    /// 3 — operation not supported; the segment as received.
    OperationNotSupported(String),
    /// 4 — tokenid missing or empty (registration).
    IncomingMissingToken,
    /// 5 — token never issued (registration).
    IncomingNotExistToken,
    /// 6 — token expired (registration).
    IncomingExpiredToken,
    /// 7 — queue missing/unreachable in time (report, `wait`).
    IncomingQueueTimeout,
    /// 8 — validation error: uuid and `<pointer>: <reason>`.
    Validation { uuid: String, detail: String },
    /// 9 — enqueue failed: uuid and cause.
    IncomingQueue { uuid: String, cause: String },
    /// 10 — duplicate external_id.
    ExistExternalId { external_id: String, group_code: String },
    /// 11 — report bad request.
    StateBadRequest,
    /// 12 — report tokenid missing.
    StateMissingToken,
    /// 13 — report token never issued.
    StateNotExistToken,
    /// 14 — report token expired.
    StateExpiredToken,
    /// 15 — report uuid not recognized.
    StateMissingUuid,
    /// 16 — no information yet (`wait`, HTTP 200; I-3).
    StateNotFound,
    /// 17 — getToken bad request.
    AuthBadRequest,
    /// 18 — getToken could not generate a token.
    AuthGenToken,
    /// 19 — getToken wrong login or password.
    AuthWrongUserOrPassword,
    /// 22 — group code does not match the token.
    GroupCodeToToken,
    /// 23 — external_id was missing; the generated one.
    IsNullExternalId(String),
    /// 1/timeout — the queue timeout (ATOL-81).
    QueueTimeout,
}

pub const TEXT_BAD_REQUEST: &str = "Некорректный запрос";
pub const TEXT_QUEUE_TIMEOUT: &str = "Превышено время ожидания чека в очереди.";
pub const TEXT_NOT_FOUND: &str = "Нет информации, попробуйте позднее";
pub const TEXT_TOKEN_NOT_FOUND: &str = "Переданный токен не найден в БД";
pub const TEXT_TOKEN_EXPIRED: &str = "Переданный токен не активен";
pub const TEXT_GROUP_TOKEN: &str = "Код группы, указанный в запросе, не соответствует токену";

impl ServiceError {
    pub fn code(&self) -> i32 {
        match self {
            Self::Parse(_) | Self::QueueTimeout => 1,
            Self::IncomingBadRequest => 2,
            Self::OperationNotSupported(_) => 3,
            Self::IncomingMissingToken => 4,
            Self::IncomingNotExistToken => 5,
            Self::IncomingExpiredToken => 6,
            Self::IncomingQueueTimeout => 7,
            Self::Validation { .. } => 8,
            Self::IncomingQueue { .. } => 9,
            Self::ExistExternalId { .. } => 10,
            Self::StateBadRequest => 11,
            Self::StateMissingToken => 12,
            Self::StateNotExistToken => 13,
            Self::StateExpiredToken => 14,
            Self::StateMissingUuid => 15,
            Self::StateNotFound => 16,
            Self::AuthBadRequest => 17,
            Self::AuthGenToken => 18,
            Self::AuthWrongUserOrPassword => 19,
            Self::GroupCodeToToken => 22,
            Self::IsNullExternalId(_) => 23,
        }
    }

    /// The exact text with its parameters filled in (ATOL-70, ATOL-96).
    pub fn text(&self) -> String {
        match self {
            Self::Parse(detail) => format!("Ошибка при парсинге JSON: {detail}"),
            Self::IncomingBadRequest | Self::StateBadRequest | Self::AuthBadRequest => TEXT_BAD_REQUEST.into(),
            Self::OperationNotSupported(op) => format!("Операция \"{op}\" не поддерживается"),
            Self::IncomingMissingToken => "Не распознан tokenid запроса".into(),
            Self::IncomingNotExistToken | Self::StateNotExistToken => TEXT_TOKEN_NOT_FOUND.into(),
            Self::IncomingExpiredToken | Self::StateExpiredToken => TEXT_TOKEN_EXPIRED.into(),
            Self::IncomingQueueTimeout => "Сообщение в очередь не было помещено за отведённое время".into(),
            Self::Validation { uuid, detail } => format!("Ошибка валидации входящего чека с GUID \"{uuid}\": {detail}"),
            Self::IncomingQueue { uuid, cause } => format!("Ошибка отправки в очередь входящего чека с GUID \"{uuid}\": {cause}"),
            Self::ExistExternalId { external_id, group_code } => {
                format!("В системе существует чек с external_id : {external_id} и group_code: {group_code}")
            }
            Self::StateMissingToken => "Не распознан tokenId запроса".into(),
            Self::StateMissingUuid => "Не распознан uuid запроса".into(),
            Self::StateNotFound => TEXT_NOT_FOUND.into(),
            Self::AuthGenToken => "Не удалось сформировать токен".into(),
            Self::AuthWrongUserOrPassword => "Неверный логин или пароль".into(),
            Self::GroupCodeToToken => TEXT_GROUP_TOKEN.into(),
            Self::IsNullExternalId(x) => format!(
                "Заполните поле external_id. Это необходимо для идентификации чека. External_id этого чека, выданный системой - {x}."
            ),
            Self::QueueTimeout => TEXT_QUEUE_TIMEOUT.into(),
        }
    }

    /// HTTP status of the answer carrying this error (§9.2; ATOL-23: 200 when the seed has none).
    pub fn http_status(&self) -> u16 {
        match self {
            Self::AuthGenToken => 500,
            Self::IncomingNotExistToken
            | Self::IncomingExpiredToken
            | Self::StateBadRequest
            | Self::StateMissingToken
            | Self::StateNotExistToken
            | Self::StateExpiredToken
            | Self::StateMissingUuid => 401,
            Self::StateNotFound | Self::IsNullExternalId(_) | Self::QueueTimeout => 200,
            _ => 400,
        }
    }

    /// The `status` this server sends with the error (§9.2 last column; I-3, I-4, D-36).
    pub fn status(&self) -> Status {
        match self {
            Self::IncomingQueueTimeout
            | Self::IncomingQueue { .. }
            | Self::StateBadRequest
            | Self::StateMissingToken
            | Self::StateNotExistToken
            | Self::StateExpiredToken
            | Self::StateMissingUuid
            | Self::StateNotFound
            | Self::IsNullExternalId(_) => Status::Wait,
            // 22 is `fail` at registration and `wait` in a report: the report path overrides it.
            _ => Status::Fail,
        }
    }

    pub fn kind(&self) -> ErrorType {
        match self {
            Self::QueueTimeout => ErrorType::Timeout,
            _ => ErrorType::System,
        }
    }

    pub fn to_error(&self) -> AtolError {
        AtolError { code: self.code(), text: self.text(), kind: self.kind() }
    }
}

/// Retry class of a KKT error (§9.3 column R/F; ATOL-84, D-33).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryClass {
    /// Register or link failure: retried while attempts remain.
    Retry,
    /// The document itself is wrong: final at once.
    Final,
}

/// One row of the KKT error table (§9.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KktErrorInfo {
    pub code: i32,
    pub text: &'static str,
    pub kind: ErrorType,
    pub class: RetryClass,
}

use ErrorType::{Agent as A, Driver as D};
use RetryClass::{Final as F, Retry as R};

/// ATOL-101: the KKT error table of §9.3, exactly.
pub const KKT_ERRORS: &[KktErrorInfo] = &[
    k(1, "Документ некорректен", A, F),
    k(2, "Документ не может быть обработан данной ККТ, так как она зарегистрирована с другим ИНН или адресом расчёта", A, F),
    k(3, "Документ не может быть обработан данной ККТ, так как её дата/время не корректны", A, R),
    k(4, "Отсутствует возможность регистрации документа данного типа", A, R),
    k(-1, "Нет связи", D, R),
    k(-6, "Недопустимое значение", D, R),
    k(-12, "Не поддерживает в данной версии оборудования", D, R),
    k(-15, "Некорректные данные из устройства", D, R),
    k(-16, "Не поддерживается в данном режиме устройства", D, R),
    k(-20, "Нет ответа от устройства", D, R),
    k(-21, "Соединение разорвано", D, R),
    k(-199, "Неизвестная ошибка", D, R),
    k(-3803, "Неверная цена (сумма)", D, F),
    k(-3804, "Неверное количество", D, F),
    k(-3805, "Нулевая цена", D, F),
    k(-3810, "Накопление меньше суммы возврата или аннулирования", D, F),
    k(-3813, "Неверная величина скидки/надбавки", D, F),
    k(-3816, "Неверный вид оплаты", D, F),
    k(-3817, "Переполнение при умножении", D, R),
    k(-3818, "Операция запрещена в таблице настроек", D, R),
    k(-3819, "Переполнение итога чека", D, F),
    k(-3822, "Смена превысила 24 часа", D, R),
    k(-3823, "Скидка запрещена в таблице", D, R),
    k(-3825, "Неверный пароль", D, R),
    k(-3830, "Неверная дата", D, R),
    k(-3831, "Неверное время", D, R),
    k(-3835, "Вносимая сумма меньше суммы чека", D, F),
    k(-3842, "ККТ заблокирована и ждет ввода пароля налогового инспектора", D, R),
    k(-3847, "Неверная смена", D, R),
    k(-3895, "Неверная длина", D, F),
    k(-3896, "Сумма не наличных оплат превышает сумму чека", D, F),
    k(-3897, "Чек оплачен не полностью", D, F),
    k(-3905, "Неверный формат или значение", D, F),
    k(-3906, "Переполнение суммы платежей", D, R),
    k(-3910, "Ошибка интерфейса ЭКЛЗ/ФН", D, R),
    k(-3911, "Ошибка формата передачи параметров ЭКЛЗ/ФН", D, R),
    k(-3912, "Неверное состояние ЭКЛЗ/ФН", D, R),
    k(-3913, "Неисправимая ошибка ЭКЛЗ/ФН", D, R),
    k(-3914, "Авария крипто-процессора ЭКЛЗ/Ошибка КС ФН", D, R),
    k(-3915, "Исчерпан временной ресурс ЭКЛЗ/Закончен срок эксплуатации ФН", D, R),
    k(-3916, "ЭКЛЗ переполнена/Архив ФН переполнен", D, R),
    k(-3917, "В ЭКЛЗ/ФН переданы неверные дата и время", D, R),
    k(-3919, "Переполнение итога чека в ЭКЛЗ/ФН", D, R),
    k(-3922, "Дата и/или время в ККТ меньше чем в ЭКЛЗ/ФН", D, R),
    k(-3924, "Необходимо провести профилактические работы", D, R),
    k(-3927, "Переполнение сменного итога", D, R),
    k(-3929, "Переполнение счетчика наличности", D, R),
    k(-3930, "Переполнение буфера чека", D, R),
    k(-3932, "Неверный тип чека", D, F),
    k(-3933, "Вход в режим заблокирован", D, R),
    k(-3934, "Неверные номер смен в ККТ и ЭКЛЗ/ФН", D, R),
    k(-3935, "ЭКЛЗ/ФН отсутствует", D, R),
    k(-3936, "Итоги чека ККТ и ЭКЛЗ/ФН не совпадают", D, R),
    k(-3965, "Недопустимый пароль", D, R),
    k(-3969, "Сумма налога больше суммы регистраций по чеку и/или итога", D, F),
    k(-3971, "Операция невозможна, недостаточно питания", D, R),
    k(-3975, "Некорректное значение параметров команды ФН", D, R),
    k(-3976, "Превышение размеров TLV данных ФН", D, F),
    k(-3977, "Нет транспортного соединения ФН", D, R),
    k(-3978, "Исчерпан ресурс КС ФН", D, R),
    k(-3979, "Исчерпан ресурс хранения ФН", D, R),
    k(-3980, "Сообщение от ОФД не может быть принято ФН", D, R),
    k(-4021, "Некорректная СНО", D, F),
    k(-4022, "Недопустимый номер ставки налога", D, F),
    k(-4025, "Ошибка программирования реквизита", D, R),
];

const fn k(code: i32, text: &'static str, kind: ErrorType, class: RetryClass) -> KktErrorInfo {
    KktErrorInfo { code, text, kind, class }
}

/// A KKT error as a register reports it: the code, and the driver's own text for codes the
/// table does not list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KktError {
    pub code: i32,
    /// The driver's text; used only when `code` is not in [`KKT_ERRORS`] (ATOL-101).
    pub driver_text: Option<String>,
}

impl KktError {
    pub fn new(code: i32) -> Self {
        Self { code, driver_text: None }
    }

    /// The table row, if the code is listed.
    pub fn info(&self) -> Option<&'static KktErrorInfo> {
        KKT_ERRORS.iter().find(|e| e.code == self.code)
    }

    /// ATOL-101: listed codes use the table; others keep their code and driver text, type
    /// `driver`, class R (D-33).
    pub fn classify(&self) -> (AtolError, RetryClass) {
        match self.info() {
            Some(i) => (AtolError { code: i.code, text: i.text.into(), kind: i.kind }, i.class),
            None => (
                AtolError {
                    code: self.code,
                    text: self.driver_text.clone().unwrap_or_else(|| "Неизвестная ошибка".into()),
                    kind: ErrorType::Driver,
                },
                RetryClass::Retry,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kkt_table_is_complete_and_unique() {
        // ATOL-101: 65 rows, codes unique, agent codes positive, driver codes negative.
        assert_eq!(KKT_ERRORS.len(), 65);
        let mut codes: Vec<i32> = KKT_ERRORS.iter().map(|e| e.code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), KKT_ERRORS.len());
        for e in KKT_ERRORS {
            assert_eq!(e.kind == ErrorType::Agent, e.code > 0, "{e:?}");
        }
        let (err, class) = KktError::new(-3816).classify();
        assert_eq!((err.code, err.text.as_str(), err.kind, class), (-3816, "Неверный вид оплаты", ErrorType::Driver, RetryClass::Final));
        let (err, class) = KktError::new(-20).classify();
        assert_eq!((err.text.as_str(), class), ("Нет ответа от устройства", RetryClass::Retry));
        let (err, class) = KktError { code: -9999, driver_text: Some("x".into()) }.classify();
        assert_eq!((err.code, err.text.as_str(), err.kind, class), (-9999, "x", ErrorType::Driver, RetryClass::Retry));
    }

    #[test]
    fn service_errors_match_the_table() {
        // ATOL-100, ATOL-23, ATOL-92, ATOL-98
        let e = ServiceError::StateNotFound;
        assert_eq!((e.code(), e.http_status(), e.status()), (16, 200, Status::Wait));
        let e = ServiceError::QueueTimeout;
        assert_eq!((e.code(), e.kind(), e.http_status()), (1, ErrorType::Timeout, 200));
        assert_eq!(ServiceError::AuthGenToken.http_status(), 500);
        assert_eq!(ServiceError::IncomingMissingToken.http_status(), 400);
        assert_eq!(ServiceError::StateMissingUuid.http_status(), 401);
    }

    #[test]
    fn codes_20_and_21_are_never_emitted() {
        // ATOL-99: no service error and no KKT row uses 20 or 21.
        let all = [
            ServiceError::Parse(String::new()),
            ServiceError::IncomingBadRequest,
            ServiceError::OperationNotSupported(String::new()),
            ServiceError::IncomingMissingToken,
            ServiceError::IncomingNotExistToken,
            ServiceError::IncomingExpiredToken,
            ServiceError::IncomingQueueTimeout,
            ServiceError::Validation { uuid: String::new(), detail: String::new() },
            ServiceError::IncomingQueue { uuid: String::new(), cause: String::new() },
            ServiceError::ExistExternalId { external_id: String::new(), group_code: String::new() },
            ServiceError::StateBadRequest,
            ServiceError::StateMissingToken,
            ServiceError::StateNotExistToken,
            ServiceError::StateExpiredToken,
            ServiceError::StateMissingUuid,
            ServiceError::StateNotFound,
            ServiceError::AuthBadRequest,
            ServiceError::AuthGenToken,
            ServiceError::AuthWrongUserOrPassword,
            ServiceError::GroupCodeToToken,
            ServiceError::IsNullExternalId(String::new()),
            ServiceError::QueueTimeout,
        ];
        for e in &all {
            assert!(![20, 21].contains(&e.code()), "{e:?}");
            // ATOL-98: code 1 only as system (parse) or timeout.
            if e.code() == 1 {
                assert!(matches!(e.kind(), ErrorType::System | ErrorType::Timeout));
            }
        }
        assert!(KKT_ERRORS.iter().all(|k| ![20, 21].contains(&k.code)));
    }
}
