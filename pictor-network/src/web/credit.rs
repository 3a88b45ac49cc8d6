//! Rewards and Credit: for each account of the signed-in person (or the one account of a key's
//! session), its balance, what it holds in escrow, earned, spent and had deposited, every ledger
//! entry with a link to its job and task, and a monthly statement as CSV whose entries add up from
//! its opening to its closing balance. And for an admin, the deposit form: credits a creator's
//! account, idempotently (the form carries a key made when it was drawn, so sending it twice
//! deposits once).

use super::layout::{message, page, see_other, serde_name};
use super::workers::unavailable;
use super::{AppState, csv, paths, session};
use crate::calendar as time;
use crate::service::{
    AccountEntry, AccountMoney, BudgetStatus, EntryTimes, WebSession, signed_credits, statement,
};
use crate::store::{AccountRow, Store};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use pictor_core::api::{DepositRequest, ErrorCode, Role};
use pictor_core::ledger::{Account, PostingKind};
use pictor_core::{AccountId, Money};
use serde::Deserialize;

/// Entries listed per account on the page (the statement has them all).
const SHOWN: usize = 50;

/// The statement's query.
#[derive(Deserialize)]
pub struct StatementQuery {
    #[serde(default)]
    account: String,
    #[serde(default)]
    month: String,
}

/// The budget form's fields.
#[derive(Deserialize)]
pub struct BudgetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    limit: String,
    #[serde(default)]
    pause: Option<String>,
}

/// The deposit form's fields.
#[derive(Deserialize)]
pub struct DepositForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    key: String,
}

/// The accounts whose money the session may read: the person's, or the key's own.
fn readable_accounts(session: &WebSession) -> Vec<AccountRow> {
    match &session.person {
        Some(person) => person.accounts.clone(),
        None => vec![session.caller.account.clone()],
    }
}

/// The other side of an entry, in words.
fn counterparty(account: Account) -> String {
    match account {
        Account::Creator(id) => format!("creator account {}", id.0),
        Account::Escrow(job) => format!("job {} escrow", job.0),
        Account::Worker(id) => format!("worker account {}", id.0),
        Account::Checker(id) => format!("checker account {}", id.0),
        Account::NetworkFees => "network fees".into(),
        Account::External => "outside the network".into(),
        Account::Bond(id) => format!("bond of account {}", id.0),
    }
}

/// What an entry did, from the account's side.
fn what(entry: &AccountEntry) -> String {
    let kind = match entry.kind {
        PostingKind::Deposit => "deposit",
        PostingKind::Direct => "transfer",
        PostingKind::Hold => "held for a job",
        PostingKind::Settle if entry.signed_micros > 0 => "paid for work",
        PostingKind::Settle => "paid out",
        PostingKind::Release => "hold returned",
        PostingKind::Void => "hold cancelled",
    };
    let direction = if entry.signed_micros >= 0 {
        "from"
    } else {
        "to"
    };
    format!("{kind}, {direction} {}", counterparty(entry.counterparty))
}

/// A creator account's budget: where the month stands, and the form that sets it.
fn budget_section(
    session: &WebSession,
    account: &AccountRow,
    status: Option<&BudgetStatus>,
) -> Markup {
    let id = account.id;
    html! {
        form.budget id={ "budget-" (id) } method="post" action=(paths::CREDIT_BUDGET) {
            h3 { "Monthly budget" }
            @match status {
                Some(status) => p id={ "budget-" (id) "-status" } {
                    (signed_credits(status.spent)) " of " (status.budget.limit) " credits spent in " (status.month)
                    " (" (status.permille() / 10) " %)"
                    @if status.budget.alerted_percent > 0 { "; alert at " (status.budget.alerted_percent) " % sent" }
                    @if status.budget.pause_at_limit { "; no new job past the limit" }
                    "."
                },
                None => p.muted { "No budget: alerts at 50, 80 and 100 % of a monthly limit, and no new job past it if you choose." },
            }
            input type="hidden" name="csrf" value=(session.csrf_token);
            input type="hidden" name="account" value=(id);
            label for={ "budget-" (id) "-limit" } { "Limit per month, in credits (empty: no budget)" }
            input id={ "budget-" (id) "-limit" } type="text" name="limit" inputmode="decimal"
                value=(status.map(|s| s.budget.limit.to_string()).unwrap_or_default());
            div {
                input id={ "budget-" (id) "-pause" } type="checkbox" name="pause" value="on"
                    checked[status.is_some_and(|s| s.budget.pause_at_limit)];
                " "
                label.inline for={ "budget-" (id) "-pause" } { "Accept no new job past the limit" }
            }
            button type="submit" { "Save the budget" }
        }
    }
}

fn account_section(
    session: &WebSession,
    money: &AccountMoney,
    budget: Option<&BudgetStatus>,
) -> Markup {
    let id = money.account.id;
    let summary = &money.summary;
    html! {
        section.card id={ "credit-" (id) } aria-labelledby={ "credit-" (id) "-name" } {
            h2 id={ "credit-" (id) "-name" } { (money.account.name) " (" (serde_name(&money.account.role)) ")" }
            dl.figures {
                dt { "Balance" } dd id={ "credit-" (id) "-balance" } { (signed_credits(summary.balance)) " credits" }
                @if money.account.role == Role::Creator {
                    dt { "Held in escrow" } dd { (signed_credits(summary.held)) " credits" }
                    dt { "Spent" } dd id={ "credit-" (id) "-spent" } { (signed_credits(summary.spent)) " credits" }
                    dt { "Deposited" } dd { (signed_credits(summary.deposited)) " credits" }
                } @else {
                    dt { "Earned" } dd id={ "credit-" (id) "-earned" } { (signed_credits(summary.earned)) " credits" }
                }
            }
            @if money.account.role == Role::Creator && session.person.is_some() {
                (budget_section(session, &money.account, budget))
            }
            @if money.entries.is_empty() {
                p { "No ledger entries yet." }
            } @else {
                table.entries {
                    caption.muted { "Newest ledger entries" }
                    thead { tr {
                        th scope="col" { "When" } th scope="col" { "What" } th scope="col" { "Job" }
                        th scope="col" { "Task" } th scope="col" { "Credits" } th scope="col" { "Ledger seq" }
                    } }
                    tbody {
                        @for entry in money.entries.iter().rev().take(SHOWN) {
                            tr {
                                td { @match entry.at_ms { Some(at) => (time::minute(at)), None => "—" } }
                                td { (what(entry)) }
                                td { @if let Some(job) = entry.job { a href=(paths::EXPLORER_JOB.replace("{id}", &job.0.to_string())) { (job.0) } } }
                                td { @if let (Some(job), Some(task)) = (entry.job, entry.task) {
                                    a href=(paths::EXPLORER_JOB.replace("{id}", &job.0.to_string())) { (task.0) }
                                } }
                                td.amount { (signed_credits(entry.signed_micros)) }
                                td { (entry.seq) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /credit`.
pub async fn credit<S: Store>(State(state): State<AppState<S>>, headers: HeaderMap) -> Response {
    let Some(session) = session::current(&state, &headers).await else {
        return super::layout::to_sign_in();
    };
    let mut moneys = Vec::new();
    for account in readable_accounts(&session) {
        let money = match state
            .account_money(&account, EntryTimes::Newest(SHOWN))
            .await
        {
            Ok(Some(money)) => money,
            Ok(None) => continue,
            Err(error) => return unavailable(&session, &error),
        };
        let budget = match state.budget_status(&account).await {
            Ok(budget) => budget,
            Err(error) => return unavailable(&session, &error),
        };
        moneys.push((money, budget));
    }
    let month = time::month_of(state.config().clock.now_ms());
    page(
        StatusCode::OK,
        "Rewards and Credit",
        Some(&session),
        html! {
            h1 { "Rewards and Credit" }
            @if session.caller.account.role == Role::Admin {
                p { a href=(paths::ADMIN) { "The operator's view" } " · " a href=(paths::ADMIN_DEPOSITS) { "Credit an account (deposits)" } }
            }
            @if !moneys.is_empty() {
                form #statement method="get" action=(paths::CREDIT_STATEMENT) {
                    h2 { "Monthly statement (CSV)" }
                    label for="statement-account" { "Account" }
                    select #statement-account name="account" {
                        @for (money, _) in &moneys { option value=(money.account.id) { (money.account.name) } }
                    }
                    label for="statement-month" { "Month (YYYY-MM, UTC)" }
                    input #statement-month type="month" name="month" required value=(month);
                    button type="submit" { "Download the statement" }
                }
            }
            @for (money, budget) in &moneys { (account_section(&session, money, budget.as_ref())) }
        },
    )
}

/// `GET /credit/statement.csv?account=ID&month=YYYY-MM`: one account's statement of one month:
/// its opening balance, every entry with the balance after it, its closing balance.
pub async fn statement_csv<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Query(query): Query<StatementQuery>,
) -> Response {
    let Some(session) = session::current(&state, &headers).await else {
        return super::layout::to_sign_in();
    };
    let Some((from_ms, to_ms)) = time::month_range(query.month.trim()) else {
        return message(
            StatusCode::BAD_REQUEST,
            Some(&session),
            "The month must read YYYY-MM.",
        );
    };
    let account = query
        .account
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|id| readable_accounts(&session).into_iter().find(|a| a.id == id));
    let Some(account) = account else {
        return message(
            StatusCode::NOT_FOUND,
            Some(&session),
            "There is no such account of yours.",
        );
    };
    let money = match state
        .account_money(&account, EntryTimes::Since(from_ms))
        .await
    {
        Ok(Some(money)) => money,
        Ok(None) => {
            return message(
                StatusCode::NOT_FOUND,
                Some(&session),
                "That account holds no money.",
            );
        }
        Err(error) => return unavailable(&session, &error),
    };
    let period = statement(&money.entries, from_ms, to_ms);
    let mut body = csv::line(&[
        "time".into(),
        "ledger_seq".into(),
        "kind".into(),
        "description".into(),
        "job".into(),
        "task".into(),
        "credits".into(),
        "balance".into(),
    ]);
    body.push_str(&csv::line(&[
        time::rfc3339(from_ms),
        String::new(),
        "opening_balance".into(),
        csv::text(&format!("{} ({})", account.name, query.month.trim())),
        String::new(),
        String::new(),
        String::new(),
        signed_credits(period.opening),
    ]));
    let mut balance = period.opening;
    for entry in &period.entries {
        balance += entry.signed_micros;
        body.push_str(&csv::line(&[
            entry.at_ms.map(time::rfc3339).unwrap_or_default(),
            entry.seq.to_string(),
            serde_name(&entry.kind),
            csv::text(&what(entry)),
            entry.job.map(|j| j.0.to_string()).unwrap_or_default(),
            entry.task.map(|t| t.0.to_string()).unwrap_or_default(),
            signed_credits(entry.signed_micros),
            signed_credits(balance),
        ]));
    }
    body.push_str(&csv::line(&[
        time::rfc3339(to_ms),
        String::new(),
        "closing_balance".into(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        signed_credits(period.closing),
    ]));
    csv::download(
        &format!("pictor-statement-{}-{}.csv", account.id, query.month.trim()),
        body,
    )
}

/// `POST /credit/budget`: sets or removes a creator account's budget.
pub async fn set_budget<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Form(form): Form<BudgetForm>,
) -> Response {
    let (session, person) =
        match session::person_form(&state, &headers, &form.csrf, "Rewards and Credit").await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let Ok(account) = form.account.trim().parse::<u64>() else {
        return message(
            StatusCode::NOT_FOUND,
            Some(&session),
            "There is no such account of yours.",
        );
    };
    let limit = match form.limit.trim() {
        "" => None,
        text => match text.parse::<Money>() {
            Ok(limit) => Some(limit),
            Err(error) => {
                return message(
                    StatusCode::BAD_REQUEST,
                    Some(&session),
                    &format!("Limit: {error}"),
                );
            }
        },
    };
    match state
        .set_budget(&person, account, limit, form.pause.as_deref() == Some("on"))
        .await
    {
        Ok(()) => see_other(paths::CREDIT),
        Err(error) if error.code == ErrorCode::NotFound => message(
            StatusCode::NOT_FOUND,
            Some(&session),
            "There is no such creator account of yours.",
        ),
        Err(error) => unavailable(&session, &error),
    }
}

/// The deposit page (admin only), with a result or an error.
fn deposit_page(status: StatusCode, session: &WebSession, note: Option<(&str, bool)>) -> Response {
    let key = crate::service::random_bytes::<16>()
        .map(hex::encode)
        .unwrap_or_default();
    page(
        status,
        "Deposits",
        Some(session),
        html! {
            h1 { "Credit an account" }
            @if let Some((text, is_error)) = note {
                @if is_error { p.error role="alert" { (text) } } @else { p.notice role="status" { (text) } }
            }
            p.muted { "Money arriving from outside the network (a payment received) is credited here to a creator's account. Sending this form twice credits once." }
            form #deposit method="post" action=(paths::ADMIN_DEPOSITS) {
                input type="hidden" name="csrf" value=(session.csrf_token);
                input type="hidden" name="key" value=(key);
                label for="deposit-account" { "Creator account id" }
                input #deposit-account type="number" name="account" min="1" required;
                label for="deposit-amount" { "Amount, in credits" }
                input #deposit-amount type="text" name="amount" inputmode="decimal" required;
                button type="submit" { "Credit it" }
            }
        },
    )
}

/// `GET /admin/deposits` (admin).
pub async fn deposits<S: Store>(State(state): State<AppState<S>>, headers: HeaderMap) -> Response {
    let session = match session::admin_session(&state, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    deposit_page(StatusCode::OK, &session, None)
}

/// `POST /admin/deposits` (admin, with the CSRF token and the form's idempotency key).
pub async fn deposit<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Form(form): Form<DepositForm>,
) -> Response {
    let session = match session::admin_form(&state, &headers, &form.csrf).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let Ok(account) = form.account.trim().parse::<u64>() else {
        return deposit_page(
            StatusCode::BAD_REQUEST,
            &session,
            Some(("The account id is a number.", true)),
        );
    };
    let amount: Money = match form.amount.trim().parse() {
        Ok(amount) => amount,
        Err(error) => {
            return deposit_page(
                StatusCode::BAD_REQUEST,
                &session,
                Some((&format!("Amount: {error}"), true)),
            );
        }
    };
    let key = form.key.trim();
    if key.is_empty() || key.len() > 64 {
        return deposit_page(
            StatusCode::BAD_REQUEST,
            &session,
            Some(("Reload the page: the form lost its key.", true)),
        );
    }
    let key = format!("web-{key}");
    match state
        .deposit(
            &session.caller,
            AccountId(account),
            &DepositRequest { amount },
            Some(&key),
        )
        .await
    {
        Ok(view) => deposit_page(
            StatusCode::OK,
            &session,
            Some((
                &format!(
                    "Credited {amount} credits to {} (account {}); its balance is {} credits.",
                    view.name, view.id.0, view.balance
                ),
                false,
            )),
        ),
        Err(error)
            if matches!(
                error.code,
                ErrorCode::InvalidInput | ErrorCode::NotFound | ErrorCode::Conflict
            ) =>
        {
            deposit_page(
                StatusCode::BAD_REQUEST,
                &session,
                Some((&error.message, true)),
            )
        }
        Err(error) => unavailable(&session, &error),
    }
}
