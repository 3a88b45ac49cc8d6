//! Pictor Cloud for GPU owners and checkers, over real HTTP against a real coordinator (and on
//! PostgreSQL in CI's second pass): a person creates a worker, downloads its config once (a
//! CSRF-protected POST), the real worker agent runs on that file (making its signing key on
//! this machine), renders a real job checked by the real checker agent; the worker's page, its
//! earnings CSV, Checker Nodes and the monthly statements agree with the ledger to the
//! micro-credit; revoking the config stops the running worker; nobody sees another person's
//! machines or money; deposits from the admin page happen once per form.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::agents::{render_demo_job, start_checker};
use common::web::{
    csrf_of, get, link_account, number_after, person_cookie, post_form, session_cookie, sign_in,
};
use common::{Network, client};
use pictor_agent::{WorkerConfig, WorkerOptions, run_worker};
use pictor_core::Money;
use pictor_core::api::Role;
use pictor_core::job::Tier;
use pictor_network::service::Config;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_DISPOSITION, LOCATION};
use std::time::Duration;

/// The fields of one CSV line (RFC 4180 quoting).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        match (ch, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (other, _) => fields.last_mut().unwrap().push(other),
        }
    }
    fields
}

/// Decimal credits (`-1.500000`) as signed micro-credits.
fn micros(credits: &str) -> i128 {
    let (sign, digits) = match credits.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, credits),
    };
    let money: Money = digits.parse().expect("credits");
    sign * i128::from(money.micros())
}

/// A balance as micro-credits.
fn balance(money: Money) -> i128 {
    i128::from(money.micros())
}

/// The rows of a CSV body after its header.
fn rows(body: &str) -> Vec<Vec<String>> {
    body.split("\r\n")
        .skip(1)
        .filter(|line| !line.is_empty())
        .map(csv_fields)
        .collect()
}

/// A statement's opening, closing and the sum of its entries, checked line by line.
fn statement_sums(body: &str) -> (i128, i128, i128) {
    let rows = rows(body);
    assert_eq!(rows[0][2], "opening_balance", "{body}");
    assert_eq!(rows[rows.len() - 1][2], "closing_balance", "{body}");
    let opening = micros(&rows[0][7]);
    let closing = micros(&rows[rows.len() - 1][7]);
    let mut running = opening;
    let mut sum = 0;
    for row in &rows[1..rows.len() - 1] {
        running += micros(&row[6]);
        sum += micros(&row[6]);
        assert_eq!(micros(&row[7]), running, "the balance after each entry");
    }
    (opening, closing, sum)
}

/// Waits until `path`'s body contains `text`.
async fn page_shows(url: &str, path: &str, cookie: &str, text: &str) -> String {
    for _ in 0..300 {
        let (_, _, page) = get(url, path, Some(cookie)).await;
        if page.contains(text) {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, _, page) = get(url, path, Some(cookie)).await;
    panic!("{path} never showed {text:?}: {page}");
}

/// The text of the element with `id` in `page` (up to its closing tag).
fn element_text(page: &str, id: &str) -> String {
    let at = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {page}"));
    let start = at + page[at..].find('>').expect("tag end") + 1;
    let end = start + page[start..].find('<').expect("closing tag");
    page[start..end].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gpu_owner_creates_a_worker_runs_its_config_and_reads_earnings_equal_to_the_ledger() {
    common::log();
    let network = Network::start(Config::default()).await;
    let url = network.url.clone();
    let (creator, creator_id, creator_key) = network.creator_named("Ada Studio", 100).await;
    let cookie = person_cookie(&url, &creator_key, "ada").await;

    // My Workers, empty; the new-worker form refuses a forged post and a bad price.
    let (status, _, page) = get(&url, "/workers", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No workers yet"), "{page}");
    let (_, _, form) = get(&url, "/workers/new", Some(&cookie)).await;
    let csrf = csrf_of(&form);
    let fields = |csrf: &str, price: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("name", "Ada <GPU>".to_string()),
            ("price", price.to_string()),
            ("min_tier", "economy".to_string()),
            ("renderer", "builtin".to_string()),
            ("slots", "1".to_string()),
            ("idle_command", "sleep 30".to_string()),
        ]
    };
    let post = |path: &str, fields: Vec<(&'static str, String)>| {
        let (url, cookie, path) = (url.clone(), cookie.clone(), path.to_string());
        async move {
            let borrowed: Vec<(&str, &str)> =
                fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_form(&url, &path, Some(&cookie), &borrowed).await
        }
    };
    assert_eq!(
        post("/workers/new", fields("", "2")).await.status(),
        StatusCode::FORBIDDEN
    );
    let bad = post("/workers/new", fields(&csrf, "lots")).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("Price"));
    let made = post("/workers/new", fields(&csrf, "2")).await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let worker_path = made.headers()[LOCATION].to_str().unwrap().to_string();
    let worker_id = number_after(&worker_path, "/workers/");
    let (_, _, page) = get(&url, &worker_path, Some(&cookie)).await;
    assert!(page.contains("Ada &lt;GPU&gt;") && !page.contains("Ada <GPU>"));
    assert!(page.contains("Download worker.toml"), "{page}");
    assert!(page.contains("Not started yet"));

    // The config: only with the CSRF token, and only once.
    let config_path = format!("{worker_path}/config");
    let forged = post(&config_path, vec![("csrf", String::new())]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let downloaded = post(&config_path, vec![("csrf", csrf.clone())]).await;
    assert_eq!(downloaded.status(), StatusCode::OK);
    assert!(
        downloaded.headers()[CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("worker.toml")
    );
    let text = downloaded.text().await.unwrap();
    let again = post(&config_path, vec![("csrf", csrf.clone())]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("worker.toml");
    std::fs::write(&config_file, &text).unwrap();
    let config = WorkerConfig::load(&config_file).expect("the file pictor worker run reads");
    assert_eq!(config.network, url);
    assert_eq!(config.name, "Ada <GPU>");
    assert_eq!(config.renderer, "builtin");
    assert_eq!(config.min_tier, Tier::Economy);
    assert_eq!(config.idle_command.as_deref(), Some("sleep 30"));
    assert_eq!(config.speed_millis, 0, "measured at the first start");
    assert!(
        !config.key_file.exists(),
        "no signing key comes from the server"
    );
    let worker_key = config.api_key.clone();
    let as_worker = client(&url, &worker_key);
    let me = as_worker
        .accounts()
        .me()
        .await
        .expect("the config's key works");
    assert_eq!((me.id.0, me.role), (worker_id, Role::Worker));

    // The worker app runs on the file: it makes its key here, connects, and the page says so.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(run_worker(
        config.clone(),
        WorkerOptions {
            poll_interval: Duration::from_millis(100),
            on_event: Some(std::sync::Arc::new(|event| {
                if !matches!(event, pictor_agent::WorkerEvent::Idle) {
                    eprintln!("worker: {event:?}");
                }
            })),
            ..WorkerOptions::default()
        },
        async move {
            let _ = stopped.await;
        },
    ));
    let live = format!("{worker_path}/live");
    page_shows(&url, &live, &cookie, "Connected").await;
    assert!(
        config.key_file.exists(),
        "the signing key was made on this machine"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&config.key_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    page_shows(&url, &live, &cookie, "running its idle-time command").await;

    // A real job, checked by the real checker agent (not Ada's).
    let checker_dir = tempfile::tempdir().unwrap();
    let checker = start_checker(&network, checker_dir.path()).await;
    render_demo_job(&creator, "1-2").await;
    let earned = balance(as_worker.accounts().me().await.unwrap().balance);
    assert!(earned > 0, "the worker was paid");
    let page = page_shows(&url, &live, &cookie, "accepted").await;
    assert_eq!(
        micros(
            element_text(&page, &format!("worker-{worker_id}-earned")).trim_end_matches(" credits")
        ),
        earned,
        "the page's earnings are the ledger's"
    );
    let pays: i128 = page
        .split("<td class=\"pay\">")
        .skip(1)
        .filter_map(|cell| cell.split('<').next())
        .filter(|cell| *cell != "—")
        .map(micros)
        .sum();
    assert_eq!(pays, earned, "each task's pay adds up to the ledger's");
    assert!(
        page.contains("builtin") || page.contains("Blender"),
        "{page}"
    );
    let (_, _, summary) = get(&url, "/workers", Some(&cookie)).await;
    assert!(summary.contains("Ada &lt;GPU&gt;") && summary.contains("Earnings per day"));
    let (status, _, csv) = get(&url, "/workers/earnings.csv", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let csv_total: i128 = rows(&csv).iter().map(|row| micros(&row[5])).sum();
    assert_eq!(csv_total, earned, "{csv}");

    // The checker that checked is not Ada's: her Checker Nodes page lists none.
    let checker_summary = checker.stop().await;
    assert!(checker_summary.accepted >= 2);
    let (_, _, nodes) = get(&url, "/checkers", Some(&cookie)).await;
    assert!(nodes.contains("No checkers of yours yet"), "{nodes}");

    // Statements: the creator's month adds up to its balance change; so does the worker's.
    let (_, _, credit) = get(&url, "/credit", Some(&cookie)).await;
    let month = {
        let at = credit.find("name=\"month\"").expect("the month field");
        let value = credit[at..].find("value=\"").unwrap() + at + 7;
        credit[value..].split('"').next().unwrap().to_string()
    };
    let statement = |account: u64| {
        let (url, cookie, month) = (url.clone(), cookie.clone(), month.clone());
        async move {
            get(
                &url,
                &format!("/credit/statement.csv?account={account}&month={month}"),
                Some(&cookie),
            )
            .await
        }
    };
    let (status, _, body) = statement(creator_id.0).await;
    assert_eq!(status, StatusCode::OK);
    let (opening, closing, sum) = statement_sums(&body);
    assert_eq!(closing - opening, sum);
    assert_eq!(opening, 0, "the creator's money all moved this month");
    assert_eq!(
        closing,
        balance(creator.accounts().me().await.unwrap().balance),
        "{body}"
    );
    assert!(body.contains("deposit") && body.contains("held for a job"));
    let (status, _, body) = statement(worker_id).await;
    assert_eq!(status, StatusCode::OK);
    let (opening, closing, sum) = statement_sums(&body);
    assert_eq!((opening, closing, sum), (0, earned, earned));
    let (status, _, _) = get(
        &url,
        &format!("/credit/statement.csv?account={worker_id}&month=2026-13"),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Revoking the config: the running worker is refused from its next request and stops.
    let (_, _, page) = get(&url, &worker_path, Some(&cookie)).await;
    assert!(page.contains("Revoke this config"));
    let revoked = post(
        &format!("{worker_path}/revoke"),
        vec![("csrf", csrf.clone())],
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    let ended = tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the worker stops")
        .expect("join");
    let error = ended.expect_err("a revoked worker stops with an error");
    assert!(format!("{error:#}").contains("revoked"), "{error:#}");
    drop(stop);
    assert!(
        as_worker.accounts().me().await.is_err(),
        "the old key is refused"
    );
    let (_, _, page) = get(&url, &worker_path, Some(&cookie)).await;
    assert!(page.contains("Issue a new config"), "{page}");
    let reissued = post(&config_path, vec![("csrf", csrf.clone())]).await;
    assert_eq!(reissued.status(), StatusCode::OK);
    let text = reissued.text().await.unwrap();
    let new_key = text
        .lines()
        .find_map(|line| line.strip_prefix("api_key = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("an api_key line")
        .to_string();
    assert_ne!(new_key, worker_key);
    let me = client(&url, &new_key)
        .accounts()
        .me()
        .await
        .expect("the new key works");
    assert_eq!(me.id.0, worker_id);
    assert_eq!(balance(me.balance), earned, "earnings stay with the worker");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checker_nodes_show_a_checkers_checks_and_fees_equal_to_the_ledger() {
    let network = Network::start(Config::default()).await;
    let url = network.url.clone();
    let market = network.small_market("Studio", "1-3").await;
    let (checker, _, checker_key) = network
        .account_with_key(Role::Checker, "Cleo's checker")
        .await;
    let cookie = person_cookie(&url, &checker_key, "cleo").await;
    // Cleo's checker accepts two of the job's three tasks.
    let market = common::SmallMarket { checker, ..market };
    market.accept_one().await;
    market.accept_one().await;
    let fees = balance(market.checker.accounts().me().await.unwrap().balance);
    assert!(fees > 0);
    let (status, _, page) = get(&url, "/checkers", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Cleo&#39;s checker") || page.contains("Cleo's checker"),
        "{page}"
    );
    let id = number_after(&page, "id=\"checker-");
    assert_eq!(element_text(&page, &format!("checker-{id}-accepted")), "2");
    assert_eq!(
        micros(element_text(&page, &format!("checker-{id}-fees")).trim_end_matches(" credits")),
        fees
    );
    let per_check: i128 = page
        .split("<td class=\"fee\">")
        .skip(1)
        .filter_map(|cell| cell.split('<').next())
        .map(micros)
        .sum();
    assert_eq!(per_check, fees, "each check's fee adds up to the ledger's");
    // No known-outcome check yet (one comes after ten leases or so), no offence.
    assert_eq!(
        element_text(&page, &format!("checker-{id}-cheats")),
        "0 of 0"
    );
    assert_eq!(element_text(&page, &format!("checker-{id}-offences")), "0");
    let (status, _, live) = get(&url, "/checkers/live", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(live.contains(&format!("checker-{id}-fees")) && !live.contains("<html"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_sees_another_persons_workers_checkers_statements_or_earnings() {
    let network = Network::start(Config::default()).await;
    let url = network.url.clone();
    let (_, ada_id, ada_key) = network.creator_named("Ada", 10).await;
    let (_, _, ada_checker_key) = network.account_with_key(Role::Checker, "ada-checker").await;
    let (_, _, bob_key) = network.creator_named("Bob", 10).await;
    let ada = person_cookie(&url, &ada_key, "ada").await;
    link_account(&url, &ada, &ada_checker_key).await;
    let bob = person_cookie(&url, &bob_key, "bob").await;
    let (_, _, form) = get(&url, "/workers/new", Some(&ada)).await;
    let made = post_form(
        &url,
        "/workers/new",
        Some(&ada),
        &[
            ("csrf", &csrf_of(&form)),
            ("name", "ada-gpu-secret"),
            ("price", "2"),
            ("slots", "1"),
        ],
    )
    .await;
    let worker_path = made.headers()[LOCATION].to_str().unwrap().to_string();
    let worker_id = number_after(&worker_path, "/workers/");

    // Bob: 404s for Ada's worker, its live part, its config and its revocation; none of Ada's
    // names anywhere; Ada's statements are not his.
    let (_, _, bob_page) = get(&url, "/workers", Some(&bob)).await;
    let bob_csrf = csrf_of(&bob_page);
    assert!(!bob_page.contains("ada-gpu-secret"));
    for path in [worker_path.clone(), format!("{worker_path}/live")] {
        let (status, _, body) = get(&url, &path, Some(&bob)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!body.contains("ada-gpu-secret"));
    }
    for action in ["config", "revoke"] {
        let answer = post_form(
            &url,
            &format!("{worker_path}/{action}"),
            Some(&bob),
            &[("csrf", &bob_csrf)],
        )
        .await;
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{action}");
    }
    let (_, _, nodes) = get(&url, "/checkers", Some(&bob)).await;
    assert!(!nodes.contains("ada-checker"));
    let (_, _, csv) = get(&url, "/workers/earnings.csv", Some(&bob)).await;
    assert_eq!(rows(&csv).len(), 0);
    let (_, _, credit) = get(&url, "/credit", Some(&bob)).await;
    assert!(!credit.contains("Ada") && credit.contains("Bob"));
    for account in [ada_id.0, worker_id] {
        let (status, _, _) = get(
            &url,
            &format!("/credit/statement.csv?account={account}&month=2026-12"),
            Some(&bob),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    // Ada still can: her config was not issued to Bob's attempt.
    let (_, _, page) = get(&url, &worker_path, Some(&ada)).await;
    assert!(page.contains("Download worker.toml"));
    let (_, _, nodes) = get(&url, "/checkers", Some(&ada)).await;
    assert!(nodes.contains("ada-checker"));

    // Signed out: the pages send to sign-in, the live parts answer 401.
    let (status, location, _) = get(&url, "/workers", None).await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/signin"))
    );
    let (status, _, _) = get(&url, "/workers/live", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = get(&url, "/checkers/live", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A key's session without a person is asked to choose a login first.
    let (_, _, carl_key) = network.creator_named("Carl", 0).await;
    let carl = session_cookie(sign_in(&url, &carl_key).await.headers());
    let (status, _, page) = get(&url, "/workers", Some(&carl)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("choose a login"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_credits_an_account_once_per_form_and_nobody_else_may() {
    let network = Network::start(Config::default()).await;
    let url = network.url.clone();
    let admin = network
        .admin
        .accounts()
        .create(Role::Admin, "ops")
        .await
        .unwrap();
    let (creator, creator_id, creator_key) = network.creator_named("Studio", 0).await;
    let cookie = session_cookie(sign_in(&url, &admin.api_key).await.headers());
    let (status, _, form) = get(&url, "/admin/deposits", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_of(&form);
    let key = {
        let at = form.find("name=\"key\" value=\"").unwrap() + 18;
        form[at..].split('"').next().unwrap().to_string()
    };
    let send = |key: String, amount: &'static str| {
        let (url, cookie, csrf) = (url.clone(), cookie.clone(), csrf.clone());
        let account = creator_id.0.to_string();
        async move {
            post_form(
                &url,
                "/admin/deposits",
                Some(&cookie),
                &[
                    ("csrf", &csrf),
                    ("key", &key),
                    ("account", &account),
                    ("amount", amount),
                ],
            )
            .await
        }
    };
    let first = send(key.clone(), "12.5").await;
    assert_eq!(first.status(), StatusCode::OK);
    assert!(first.text().await.unwrap().contains("Credited 12.500000"));
    let twice = send(key.clone(), "12.5").await;
    assert_eq!(twice.status(), StatusCode::OK);
    assert_eq!(
        creator.accounts().me().await.unwrap().balance,
        Money::from_micros(12_500_000),
        "sent twice, credited once"
    );
    let bad = send("another".into(), "nothing").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let forged = post_form(
        &url,
        "/admin/deposits",
        Some(&cookie),
        &[
            ("csrf", ""),
            ("key", "k2"),
            ("account", "1"),
            ("amount", "1"),
        ],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // A creator has no such page.
    let creator_cookie = session_cookie(sign_in(&url, &creator_key).await.headers());
    let (status, _, _) = get(&url, "/admin/deposits", Some(&creator_cookie)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, _, page) = get(&url, "/credit", Some(&creator_cookie)).await;
    let csrf = csrf_of(&page);
    let sneaky = post_form(
        &url,
        "/admin/deposits",
        Some(&creator_cookie),
        &[
            ("csrf", &csrf),
            ("key", "k3"),
            ("account", &creator_id.0.to_string()),
            ("amount", "100"),
        ],
    )
    .await;
    assert_eq!(sneaky.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        creator.accounts().me().await.unwrap().balance,
        Money::from_micros(12_500_000)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_sees_stuck_tasks_repeated_rejects_and_counters_and_requeues_a_task() {
    let clock = std::sync::Arc::new(pictor_core::clock::ManualClock::starting_now());
    let network = Network::start(Config {
        clock: clock.clone(),
        ..Config::default()
    })
    .await;
    let url = network.url.clone();
    let market = network.small_market("Studio", "1-2").await;
    // The market's worker has a result rejected in two jobs.
    for round in 0..2 {
        if round == 1 {
            let scene = common::upload_test_scene(&market.creator).await;
            market
                .creator
                .jobs()
                .submit(common::small_spec(scene, "1"))
                .send()
                .await
                .unwrap();
        }
        let lease = market
            .worker
            .workers()
            .lease()
            .await
            .unwrap()
            .expect("a task");
        common::deliver_pngs(&market.worker, &market.signing, &lease).await;
        common::check_once(&market.checker, pictor_core::api::Verdict::Reject).await;
    }
    // Another worker leases a task and goes quiet (its lease lasts 2 minutes).
    let (quiet, quiet_id, _) = network.worker("quiet-gpu", 2).await;
    let stuck = quiet.workers().lease().await.unwrap().expect("a task");
    clock.advance_ms(90_000);

    let ops = network
        .admin
        .accounts()
        .create(Role::Admin, "ops")
        .await
        .unwrap();
    let cookie = session_cookie(sign_in(&url, &ops.api_key).await.headers());
    let (status, _, page) = get(&url, "/admin", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("<tr data-task=\"{}\">", stuck.task.0)),
        "the quiet lease is stuck: {page}"
    );
    assert!(page.contains(&format!("<td>{}</td>", quiet_id.0)));
    assert!(page.contains("id=\"rejected-workers\""), "{page}");
    let rejected_row = format!(
        "<tr><td>{}</td><td>2</td><td>",
        market.worker.accounts().me().await.unwrap().id.0
    );
    assert!(page.contains(&rejected_row), "{page}");
    assert_eq!(
        element_text(&page, "workers-online"),
        "0",
        "90 s of silence: offline"
    );
    // The counters are /metrics's.
    let metrics = common::http_client()
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let leases: u64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("pictor_leases_total "))
        .expect("a leases counter")
        .trim()
        .parse()
        .unwrap();
    assert!(leases >= 3);
    assert!(
        page.contains(&format!(
            "<code>pictor_leases_total</code> <strong class=\"counter-total\">{leases}</strong>"
        )),
        "{page}"
    );

    // Requeue: the quiet worker's lease is gone, the task waits for another worker.
    let requeued = post_form(
        &url,
        &format!("/admin/tasks/{}/requeue", stuck.task.0),
        Some(&cookie),
        &[("csrf", &csrf_of(&page))],
    )
    .await;
    assert_eq!(requeued.status(), StatusCode::SEE_OTHER);
    let heartbeat = quiet
        .workers()
        .heartbeat(stuck.task, stuck.attempt, 500)
        .await
        .expect_err("the lease moved on");
    assert_eq!(
        heartbeat.code(),
        Some(pictor_core::api::ErrorCode::StaleLease)
    );
    let (_, _, page) = get(&url, "/admin", Some(&cookie)).await;
    assert!(page.contains("id=\"no-stuck\""), "{page}");
    let again = post_form(
        &url,
        &format!("/admin/tasks/{}/requeue", stuck.task.0),
        Some(&cookie),
        &[("csrf", &csrf_of(&page))],
    )
    .await;
    assert_eq!(again.status(), StatusCode::CONFLICT, "not leased any more");
    // Nobody else has the page or the button.
    let creator_cookie = session_cookie(sign_in(&url, &market.creator_key).await.headers());
    let (status, _, page) = get(&url, "/admin", Some(&creator_cookie)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let refused = post_form(
        &url,
        &format!("/admin/tasks/{}/requeue", stuck.task.0),
        Some(&creator_cookie),
        &[("csrf", &csrf_of(&page))],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
}
