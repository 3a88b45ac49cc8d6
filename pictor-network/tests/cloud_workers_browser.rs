//! My Workers in a real browser (headless Chromium over WebDriver) against a real coordinator and
//! a real `pictor worker run` process: a GPU owner signs in with her password, creates a worker
//! with the form, downloads its config (the page's own form, posted by the page with its CSRF
//! token), starts the worker app on the file, and the open page turns "Connected" without a
//! reload; a job renders (checked by the real checker agent, hers), and the open page's earnings
//! and task history follow to the ledger's figure to the micro-credit; Checker Nodes and Credit
//! show her checker's fees and her accounts; revoking the config from the page stops the running
//! worker. With `PICTOR_SCREENSHOTS=docs/images` it also saves the README's pictures of these
//! pages. Skips without Chromium and chromedriver unless `PICTOR_REQUIRE_BROWSER=1` (CI).
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::agents::{render_demo_job, start_checker_with_key};
use common::browser::{Browser, run, screenshot, type_into, wait_for_path, within};
use common::web::{PASSWORD, link_account, person_cookie};
use common::{Network, client};
use fantoccini::{Client, Locator};
use pictor_core::Money;
use pictor_core::api::Role;
use pictor_network::service::Config;
use std::io::Read;
use std::process::{Command, Stdio};

/// The text of the element `css` on the page ("" when it is not there).
async fn text_of(page: &Client, css: &str) -> String {
    match page.find(Locator::Css(css)).await {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Micro-credits of a figure the page shows (`1.234567 credits`).
fn shown_micros(text: &str) -> u64 {
    let number = text.trim().trim_end_matches(" credits");
    number
        .parse::<Money>()
        .map(Money::micros)
        .unwrap_or(u64::MAX)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gpu_owner_creates_a_worker_and_watches_it_connect_earn_and_stop() {
    let Some(browser) = Browser::start_or_skip().await else {
        return;
    };
    let network = Network::start(Config::default()).await;
    let url = network.url.clone();
    let (creator, _, creator_key) = network.creator_named("Ada Studio", 100).await;
    let (_, _, checker_key) = network
        .account_with_key(Role::Checker, "Ada's checker")
        .await;
    let cookie = person_cookie(&url, &creator_key, "ada").await;
    link_account(&url, &cookie, &checker_key).await;
    let page = &browser.client;

    // She signs in with her login and password.
    page.goto(&format!("{url}/signin")).await.expect("open");
    type_into(page, "login", "ada").await;
    type_into(page, "password", PASSWORD).await;
    page.find(Locator::Css("#with-password button[type=submit]"))
        .await
        .expect("the button")
        .click()
        .await
        .expect("sign in");
    wait_for_path(page, "/").await;

    // My Workers → Create a worker → the form.
    page.goto(&format!("{url}/workers")).await.expect("open");
    page.wait()
        .for_element(Locator::LinkText("Create a worker"))
        .await
        .expect("the link")
        .click()
        .await
        .expect("click");
    wait_for_path(page, "/workers/new").await;
    type_into(page, "name", "Ada's RTX").await;
    type_into(page, "price", "2.5").await;
    type_into(page, "idle_command", "sleep 60").await;
    page.find(Locator::Css("#renderer option[value=builtin]"))
        .await
        .expect("the option")
        .click()
        .await
        .expect("choose");
    page.find(Locator::Css("#new-worker button[type=submit]"))
        .await
        .expect("the button")
        .click()
        .await
        .expect("create");
    within(10, "the worker's page never opened", async || {
        let path = page.current_url().await.expect("url").path().to_string();
        path.starts_with("/workers/") && path != "/workers/new"
    })
    .await;
    let path = page.current_url().await.unwrap().path().to_string();
    let id: u64 = path.trim_start_matches("/workers/").parse().expect("an id");
    let state = format!("#worker-{id}-state");
    assert!(text_of(page, &state).await.contains("Not started yet"));

    // The config, downloaded by the page's own form (its CSRF token, her cookie).
    let config = run(
        page,
        "return (async () => { \
           const form = document.getElementById('download-config'); \
           const answer = await fetch(form.action, { method: 'POST', \
             body: new URLSearchParams(new FormData(form)), credentials: 'same-origin' }); \
           return [answer.status, answer.headers.get('content-disposition'), await answer.text()]; \
         })();",
    )
    .await;
    assert_eq!(config[0], 200, "{config}");
    assert!(config[1].as_str().unwrap().contains("worker.toml"));
    let text = config[2].as_str().unwrap().to_string();
    let worker_key = text
        .lines()
        .find_map(|line| line.strip_prefix("api_key = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("the worker's key")
        .to_string();
    // The open page learns of the download by itself: it now offers to revoke, not to download.
    within(
        10,
        "the page never showed the config as downloaded",
        async || text_of(page, "#revoke-config button").await == "Revoke this config",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("worker.toml");
    std::fs::write(&file, &text).unwrap();

    // The worker app starts on it; the open page turns "Connected" without a reload.
    run(page, "window.pictorNotReloaded = true; return null;").await;
    let mut worker = Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args(["worker", "run", "--poll-secs", "0.2", "--config"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pictor worker run starts");
    // Read as it comes, so that a full pipe never stalls the worker.
    let mut stderr_pipe = worker.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    within(
        60,
        "the page never showed the worker connected",
        async || text_of(page, &state).await.contains("Connected"),
    )
    .await;
    assert!(
        dir.path().join("worker.key").exists(),
        "its key was made here"
    );
    within(20, "the idle command never showed", async || {
        text_of(page, &state).await.contains("idle-time command")
    })
    .await;

    // A job renders, checked by her checker; the open page's earnings follow the ledger.
    let checker_dir = tempfile::tempdir().unwrap();
    let checker = start_checker_with_key(&network, checker_dir.path(), &checker_key);
    render_demo_job(&creator, "1-2").await;
    let as_worker = client(&url, &worker_key);
    let earned = as_worker.accounts().me().await.unwrap().balance.micros();
    assert!(earned > 0);
    let earned_css = format!("#worker-{id}-earned");
    within(
        20,
        "the open page's earnings never reached the ledger's",
        async || shown_micros(&text_of(page, &earned_css).await) == earned,
    )
    .await;
    within(
        10,
        "the task history never showed both tasks accepted",
        async || {
            let rows = page
                .find_all(Locator::Css("#task-history tbody tr"))
                .await
                .unwrap_or_default();
            let mut accepted = 0;
            let mut paid = 0;
            for row in rows {
                let outcome = row.find(Locator::Css("td.outcome")).await.unwrap();
                if outcome.text().await.unwrap() == "accepted" {
                    accepted += 1;
                    let pay = row.find(Locator::Css("td.pay")).await.unwrap();
                    paid += shown_micros(&pay.text().await.unwrap());
                }
            }
            accepted == 2 && paid == earned
        },
    )
    .await;
    assert_eq!(
        run(page, "return window.pictorNotReloaded === true;").await,
        true,
        "all of it without a reload"
    );
    screenshot(page, "cloud-worker.png").await;

    // My Workers, Checker Nodes and Credit.
    page.goto(&format!("{url}/workers")).await.unwrap();
    within(10, "My Workers never listed the worker", async || {
        text_of(page, &format!("#worker-{id}"))
            .await
            .contains("Ada's RTX")
    })
    .await;
    screenshot(page, "cloud-my-workers.png").await;
    let _ = checker.stop().await;
    let fees = client(&url, &checker_key)
        .accounts()
        .me()
        .await
        .unwrap()
        .balance
        .micros();
    page.goto(&format!("{url}/checkers")).await.unwrap();
    let fees_shown = page
        .wait()
        .for_element(Locator::Css("[id$='-fees']"))
        .await
        .expect("the checker's fees")
        .text()
        .await
        .unwrap();
    assert_eq!(shown_micros(&fees_shown), fees);
    screenshot(page, "cloud-checker-nodes.png").await;
    page.goto(&format!("{url}/credit")).await.unwrap();
    let balance_shown = page
        .wait()
        .for_element(Locator::Css(&format!("#credit-{id}-balance")))
        .await
        .expect("the worker's balance")
        .text()
        .await
        .unwrap();
    assert_eq!(shown_micros(&balance_shown), earned);
    screenshot(page, "cloud-credit.png").await;

    // Revoking the config from the page: the running worker is refused and stops.
    page.goto(&format!("{url}/workers/{id}")).await.unwrap();
    page.wait()
        .for_element(Locator::Css("#revoke-config button"))
        .await
        .expect("the revoke button")
        .click()
        .await
        .expect("revoke");
    within(10, "the page never offered a new config", async || {
        text_of(page, "#download-config button").await == "Issue a new config"
    })
    .await;
    let mut status = None;
    within(30, "the revoked worker never stopped", async || {
        status = worker.try_wait().expect("wait");
        status.is_some()
    })
    .await;
    assert!(!status.unwrap().success(), "it stops with an error");
    let stderr = stderr.join().unwrap();
    assert!(stderr.contains("revoked"), "{stderr}");
    assert!(
        stderr.contains("generating this worker's key"),
        "the first start says it made the key: {stderr}"
    );
    assert!(
        as_worker.accounts().me().await.is_err(),
        "its key is refused"
    );
    browser.close().await;
}
