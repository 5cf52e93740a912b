//! Property tests: random command sequences against a small reference model.
//!
//! The model tracks only integers (cents) and flags and re-derives, independently of the
//! implementation, which commands succeed (CORE-72, CORE-78, CORE-79, CORE-64, CORE-94, CORE-97)
//! and how the drawer, revenue, non-nullable sums, shift and document numbers and autonomous
//! ticket numbers evolve. After every step the implementation must agree with the model, money
//! must stay exact (payments sum to the total, cash never negative), numbering must be gapless,
//! and the counters-based report must equal the report recomputed from the journal (§9).

use kassa_money::Money;
use proptest::prelude::*;

use super::command::{
    AmountsRequest, Caller, Command, CommodityRequest, ItemRequest, KkmConfig, ModifierRequest, MoneyPlacementRequest,
    PaymentRequest, ReportRequest, TradeRequest,
};
use super::enums::CommandType;
use super::ofd::OfdOutcome;
use super::process::{Body, Document, execute};
use super::report::{LifetimeCounts, ReportHeader, recompute_report, report_body};
use super::state::{KkmState, RegInfo};
use super::time::{LocalDateTime, Millis};

const HOUR: i64 = 3_600_000;

#[derive(Clone, Debug)]
enum Step {
    Trade {
        op: u8,
        lines: Vec<i64>,
        discount: i64,
        card: i64,
        cash: i64,
    },
    Deposit(i64),
    Withdraw(i64),
    X,
    Z,
    /// The upload task delivered everything (CORE-96).
    Drain,
}

#[derive(Clone, Debug)]
struct Action {
    step: Step,
    /// Clock advance before the step, in ms.
    advance: i64,
    outcome: u8,
}

fn outcome_of(code: u8) -> OfdOutcome {
    match code {
        0..=4 => OfdOutcome::Accepted { fiscal_id: "F".into(), qr_code: "Q".into(), ads_info: None },
        5 | 6 => OfdOutcome::Unreachable,
        7 => OfdOutcome::InvalidToken,
        8 => OfdOutcome::Blocked { text: "b".into() },
        _ => OfdOutcome::Rejected,
    }
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (0u8..4, prop::collection::vec(1i64..50_000, 1..4), prop_oneof![3 => Just(0i64), 1 => 0i64..60_000], 0i64..80_000, 0i64..150_000)
            .prop_map(|(op, lines, discount, card, cash)| Step::Trade { op, lines, discount, card: if card % 3 == 0 { 0 } else { card }, cash }),
        1 => (1i64..100_000).prop_map(Step::Deposit),
        1 => (1i64..100_000).prop_map(Step::Withdraw),
        1 => Just(Step::X),
        1 => Just(Step::Z),
        1 => Just(Step::Drain),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let advance = prop_oneof![6 => 0i64..HOUR, 1 => 20 * HOUR..30 * HOUR, 1 => 40 * HOUR..80 * HOUR];
    (step(), advance, 0u8..10).prop_map(|(step, advance, outcome)| Action { step, advance, outcome })
}

/// The reference model: only what the rules say, in cents.
#[derive(Clone, Debug)]
struct Model {
    cash: i64,
    revenue: i64,
    nn: [i64; 4],
    shift: u32,
    doc: u32,
    open_since: Option<i64>,
    offline_since: Option<i64>,
    offline_number: u32,
    auto_withdraw: bool,
    /// Per operation in the shift: tickets, Σ T, autonomous tickets, Σ cash net, Σ card.
    tickets: [(u32, i64, u32, i64, i64); 4],
    /// Per money-placement kind in the shift: count, Σ sum.
    placements: [(u32, i64); 2],
    /// All-time counts.
    lifetime: LifetimeCounts,
}

/// What the model expects of one step: the codes of the documents accepted and the final error.
#[derive(Debug, PartialEq, Eq)]
struct Expect {
    documents: Vec<CommandType>,
    error: Option<u32>,
}

impl Model {
    /// One submission with `outcome`: Ok(offline) or the refusal code.
    fn accept(&mut self, outcome: u8, now: i64) -> Result<bool, u32> {
        if self.offline_since.is_some() {
            return Ok(true);
        }
        match outcome {
            0..=4 => Ok(false),
            5..=7 => {
                self.offline_since = Some(now);
                Ok(true)
            }
            8 => Err(62),
            _ => Err(84),
        }
    }

    fn close_shift(&mut self, outcome: u8, now: i64, docs: &mut Vec<CommandType>) -> Result<(), u32> {
        if self.auto_withdraw && self.cash > 0 {
            self.accept(outcome, now)?;
            self.placements[1].0 += 1;
            self.placements[1].1 += self.cash;
            self.lifetime.money_placements[1] += 1;
            self.cash = 0;
            self.doc += 1;
            docs.push(CommandType::MoneyPlacement);
        }
        self.accept(outcome, now)?;
        docs.push(CommandType::CloseShift);
        self.shift += 1;
        self.doc = 1;
        self.revenue = 0;
        self.open_since = None;
        self.tickets = Default::default();
        self.placements = Default::default();
        Ok(())
    }

    fn apply(&mut self, step: &Step, outcome: u8, now: i64) -> Expect {
        let mut documents = Vec::new();
        let error = self.run(step, outcome, now, &mut documents).err();
        Expect { documents, error }
    }

    fn run(&mut self, step: &Step, outcome: u8, now: i64, docs: &mut Vec<CommandType>) -> Result<(), u32> {
        let too_long = self.offline_since.is_some_and(|since| now - since >= 72 * HOUR);
        match step {
            Step::Drain => {
                self.offline_since = None;
                Ok(())
            }
            Step::Deposit(sum) | Step::Withdraw(sum) => {
                let withdraw = matches!(step, Step::Withdraw(_));
                if withdraw && *sum > self.cash {
                    return Err(58);
                }
                if too_long {
                    return Err(18);
                }
                self.accept(outcome, now)?;
                self.cash += if withdraw { -sum } else { *sum };
                let kind = usize::from(withdraw);
                self.placements[kind].0 += 1;
                self.placements[kind].1 += sum;
                self.lifetime.money_placements[kind] += 1;
                self.doc += 1;
                docs.push(CommandType::MoneyPlacement);
                Ok(())
            }
            Step::X => {
                if too_long {
                    return Err(18);
                }
                self.accept(outcome, now)?;
                self.doc += 1;
                docs.push(CommandType::Report);
                Ok(())
            }
            Step::Z => {
                if too_long {
                    return Err(18);
                }
                self.close_shift(outcome, now, docs)
            }
            Step::Trade { op, lines, discount, card, cash } => {
                if too_long {
                    return Err(18);
                }
                if self.open_since.is_some_and(|open| now - open >= 24 * HOUR) {
                    self.close_shift(outcome, now, docs)?;
                }
                let s: i64 = lines.iter().sum();
                if *discount > 0 && *discount >= s {
                    return Err(59);
                }
                let t = s - discount;
                if *card > t {
                    return Err(55);
                }
                let p = cash + card;
                if p <= 0 {
                    return Err(56);
                }
                if p < t {
                    return Err(57);
                }
                let net = cash - (p - t);
                let sign = if *op == 1 || *op == 2 { 1 } else { -1 };
                if sign < 0 && self.cash < net {
                    return Err(58);
                }
                let offline = self.accept(outcome, now)?;
                if offline {
                    self.offline_number = self.offline_number.max(1000) + 1;
                }
                self.open_since.get_or_insert(now);
                self.cash += sign * net;
                self.revenue += sign * t;
                self.nn[usize::from(*op)] += t;
                let entry = &mut self.tickets[usize::from(*op)];
                *entry = (entry.0 + 1, entry.1 + t, entry.2 + u32::from(offline), entry.3 + net, entry.4 + card);
                self.lifetime.tickets[usize::from(*op)] += 1;
                self.doc += 1;
                docs.push(CommandType::Ticket);
                Ok(())
            }
        }
    }
}

fn command(step: &Step) -> Option<Command> {
    let m = Money::from_minor;
    Some(match step {
        Step::Trade { op, lines, discount, card, cash } => Command::Trade(TradeRequest {
            operation: i64::from(*op),
            items: lines
                .iter()
                .enumerate()
                .map(|(i, sum)| ItemRequest {
                    kind: 1,
                    commodity: Some(CommodityRequest {
                        name: format!("item{i}"),
                        section_code: format!("S{}", sum % 3),
                        quantity: kassa_money::Quantity::ONE,
                        price: m(*sum),
                        sum: m(*sum),
                        measure_unit_code: "796".into(),
                        ..CommodityRequest::default()
                    }),
                    markup: None,
                    discount: None,
                })
                .collect(),
            payments: [(0, *cash), (1, *card)]
                .into_iter()
                .filter(|(_, sum)| *sum > 0)
                .map(|(kind, sum)| PaymentRequest { kind, sum: m(sum) })
                .collect(),
            amounts: Some(AmountsRequest {
                taken: None,
                markup: None,
                discount: Some(ModifierRequest { sum: m(*discount), ..ModifierRequest::default() }),
            }),
            ..TradeRequest::default()
        }),
        Step::Deposit(sum) => Command::MoneyPlacement(MoneyPlacementRequest { operation: 0, sum: m(*sum) }),
        Step::Withdraw(sum) => Command::MoneyPlacement(MoneyPlacementRequest { operation: 1, sum: m(*sum) }),
        Step::X => Command::Report(ReportRequest { report_type: 1 }),
        Step::Z => Command::Report(ReportRequest { report_type: 0 }),
        Step::Drain => return None,
    })
}

/// Invariants of the journal itself: gapless numbering, exact payment splits, autonomous numbers.
fn check_journal(journal: &[Document]) -> Result<(), TestCaseError> {
    let mut expected = (1u32, 1u32);
    let mut offline_number = 1000;
    for doc in journal {
        prop_assert_eq!((doc.fr_shift_number, doc.shift_document_number), expected, "numbering is gapless (CORE-66)");
        expected.1 += 1;
        if doc.command == CommandType::CloseShift {
            expected = (expected.0 + 1, 1);
        }
        if let Body::Ticket(t) = &doc.body {
            let paid: Option<Money> = t.payments.iter().map(|p| p.sum).sum();
            prop_assert_eq!(paid, Some(t.amounts.total), "payments sum to the total (CORE-73)");
            if doc.is_offline {
                offline_number += 1;
                prop_assert_eq!(t.offline_ticket_number, offline_number, "autonomous numbers are gapless (CORE-98)");
                prop_assert_eq!(&doc.fiscal_id, &offline_number.to_string());
            }
        }
    }
    Ok(())
}

/// The report's ticket and money-placement totals against the model (CORE-85, CORE-87, CORE-88).
fn check_report(report: &super::report::ReportObject, model: &Model) -> Result<(), TestCaseError> {
    use super::enums::{MoneyPlacementKind, Operation, PaymentType};
    for op in Operation::ALL {
        let (count, sum, offline, cash, card) = model.tickets[op.index()];
        let total = model.lifetime.tickets[op.index()];
        let listed = report.ticket_operations.iter().find(|t| t.operation == *op);
        let Some(t) = listed else {
            prop_assert!(total == 0 && count == 0, "{:?} missing from ticket_operationsList", op);
            continue;
        };
        prop_assert_eq!(
            (t.tickets_total_count, t.tickets_count, t.tickets_sum.minor(), t.offline_count),
            (total, count, sum, offline)
        );
        let paid = |kind: PaymentType| t.payments.iter().find(|p| p.payment == kind).map_or(0, |p| p.sum.minor());
        prop_assert_eq!((paid(PaymentType::Cash), paid(PaymentType::Card)), (cash, card));
        let result = report.total_result.iter().find(|r| r.operation == *op).map_or(0, |r| r.sum.minor());
        prop_assert_eq!(result, sum, "total_result = Σ T (CORE-85)");
    }
    for kind in MoneyPlacementKind::ALL {
        let (count, sum) = model.placements[kind.index()];
        let total = model.lifetime.money_placements[kind.index()];
        let listed = report.money_placements.iter().find(|m| m.operation == *kind);
        match listed {
            Some(m) => {
                prop_assert_eq!((m.operations_total_count, m.operations_count, m.operations_sum.minor()), (total, count, sum))
            }
            None => prop_assert!(total == 0 && count == 0),
        }
    }
    let totals = super::report::total_payments(report);
    let signed = |slot: usize| -> i64 {
        Operation::ALL
            .iter()
            .map(|op| op.sign() * if slot == 0 { model.tickets[op.index()].3 } else { model.tickets[op.index()].4 })
            .sum()
    };
    prop_assert_eq!((totals[0].minor(), totals[1].minor()), (signed(0), signed(1)), "total_payments (CORE-88)");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_match_the_reference_model(auto_withdraw in any::<bool>(), actions in prop::collection::vec(action(), 1..40)) {
        let config = KkmConfig::new("http://consumer.oofd.kz");
        let caller = Caller { code: 1, name: "op".into() };
        let mut state = KkmState::new(RegInfo::default());
        state.auto_withdraw_money = auto_withdraw;
        let mut model = Model {
            cash: 0, revenue: 0, nn: [0; 4], shift: 1, doc: 1, open_since: None, offline_since: None, offline_number: 0, auto_withdraw,
            tickets: Default::default(), placements: Default::default(), lifetime: LifetimeCounts::default(),
        };
        let mut journal: Vec<Document> = Vec::new();
        let mut now = LocalDateTime::parse("2025-01-01T08:00:00").unwrap();
        for action in &actions {
            now = now.plus(Millis(action.advance));
            let expect = model.apply(&action.step, action.outcome, now.millis());
            let Some(command) = command(&action.step) else {
                state = state.queue_drained();
                continue;
            };
            let before_nn = state.non_nullable_sums;
            let execution = execute(&state, &command, &caller, &config, now, |_| outcome_of(action.outcome));
            let documents: Vec<CommandType> = execution.committed.iter().map(|f| f.document.command).collect();
            prop_assert_eq!(&documents, &expect.documents, "documents of {:?}", action);
            prop_assert_eq!(execution.outcome.err().map(super::KzError::code), expect.error, "outcome of {:?}", action);
            state = execution.final_state(&state).clone();
            journal.extend(execution.committed.into_iter().map(|f| f.document));

            // Money is exact and the drawer never negative (CORE-72 8, CORE-78).
            prop_assert_eq!(state.cash_sum.minor(), model.cash);
            prop_assert!(!state.cash_sum.is_negative());
            prop_assert_eq!(state.revenue.minor(), model.revenue);
            prop_assert_eq!(state.non_nullable_sums.map(Money::minor), model.nn);
            // Non-nullable sums never decrease.
            prop_assert!(state.non_nullable_sums.iter().zip(&before_nn).all(|(after, before)| after >= before));
            prop_assert_eq!((state.fr_shift_number, state.shift_document_number), (model.shift, model.doc));
            prop_assert_eq!(state.is_offline, model.offline_since.is_some());
            prop_assert_eq!(state.offline_ticket_number, model.offline_number);
            check_journal(&journal)?;
            // §9: the counters-based report equals the one recomputed from the journal.
            let from_counters = report_body(&ReportHeader::of(&state, now, false), &state.counters, &state.totals);
            let from_journal = recompute_report(&state, &journal, LifetimeCounts::default(), now, false).unwrap();
            check_report(&from_counters, &model)?;
            prop_assert_eq!(from_counters, from_journal);
            prop_assert!(super::report::counters_match_journal(&state, &journal, LifetimeCounts::default(), now).unwrap());
        }
    }
}
