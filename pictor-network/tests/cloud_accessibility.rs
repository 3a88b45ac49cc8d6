//! Pictor Cloud's pages against the WCAG 2.1 A and AA rules, checked by axe-core (Deque's rules
//! engine, loaded into each page of a real headless Chromium) at phone width (375 px): the sign-in
//! page, the jobs list, the new-job form and its quote, a job's live page with accepted frames,
//! the Account page of a person, the Explorer, its ledger page and its records of a job and a frame. Every control has a label (axe's
//! `label` and `button-name` rules), contrast is enough, nothing overflows the phone's width, and
//! every form is reached from the keyboard (each control is focusable with Tab).
//! Skips without Chromium or axe-core (`scripts/install-axe`) unless `PICTOR_REQUIRE_BROWSER=1` /
//! `PICTOR_REQUIRE_AXE=1` (CI).
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Network;
use common::browser::{Browser, run, sign_out, submit_key, type_into, wait_for_path, within};
use fantoccini::Locator;
use pictor_network::service::Config;

/// axe-core's script, from `PICTOR_AXE_JS` (what `scripts/install-axe` prints) or its default
/// place; `None` (the test skips, printing why) when it is not installed.
fn axe_script() -> Option<String> {
    let path = std::env::var_os("PICTOR_AXE_JS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/var/cache/pictor/axe/node_modules/axe-core/axe.min.js".into());
    match std::fs::read_to_string(&path) {
        Ok(script) => Some(script),
        Err(_) => {
            common::skip_unless_required(
                "PICTOR_REQUIRE_AXE",
                &format!(
                    "axe-core is not at {} (scripts/install-axe)",
                    path.display()
                ),
            );
            None
        }
    }
}

/// Runs axe on the open page; fails listing every violation of the WCAG 2.x A/AA rules, and when
/// the page is wider than the window.
async fn audit(page: &fantoccini::Client, axe: &str, what: &str) {
    // Injected through WebDriver: the page's CSP governs the page's own scripts, not this.
    run(page, &format!("{axe}\nreturn true;")).await;
    let violations = run(
        page,
        "return axe.run(document, { runOnly: { type: 'tag', \
           values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })\
         .then((result) => result.violations.map((violation) => violation.id + ' (' + \
           violation.impact + '): ' + violation.nodes.map((node) => node.target.join(' ')).join(', ')));",
    )
    .await;
    assert_eq!(
        violations,
        serde_json::json!([]),
        "{what}: accessibility violations"
    );
    let overflow = run(
        page,
        "return document.documentElement.scrollWidth - window.innerWidth;",
    )
    .await;
    assert!(
        overflow.as_i64().unwrap_or(i64::MAX) <= 0,
        "{what}: wider than a phone by {overflow} px"
    );
    // Every form control can be reached from the keyboard: none is taken out of the tab order.
    let unreachable = run(
        page,
        "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, button, a[href]'))\
           .filter((control) => control.tabIndex < 0).map((control) => control.outerHTML);",
    )
    .await;
    assert_eq!(
        unreachable,
        serde_json::json!([]),
        "{what}: controls out of the tab order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_the_wcag_rules_at_phone_width() {
    let Some(axe) = axe_script() else {
        return;
    };
    let Some(browser) = Browser::start_or_skip().await else {
        return;
    };
    let network = Network::start(Config::default()).await;
    let market = network.small_market("Studio", "1-3").await;
    let (key, job) = (&market.creator_key, market.job);
    let lease = market.accept_one().await;

    let page = &browser.client;
    page.set_window_size(375, 812).await.expect("phone width");
    let url = &network.url;
    page.goto(&format!("{url}/signin")).await.expect("open");
    audit(page, &axe, "the sign-in page").await;
    submit_key(page, key).await;
    wait_for_path(page, "/").await;
    audit(page, &axe, "the jobs list").await;

    page.goto(&format!("{url}/jobs/{}", job.0))
        .await
        .expect("the job");
    within(
        10,
        "the accepted frame's preview never loaded",
        async || {
            run(
                page,
                "const picture = document.querySelector('.frames img');\
             return picture !== null && picture.complete && picture.naturalWidth > 0;",
            )
            .await
                == true
        },
    )
    .await;
    audit(page, &axe, "a job's page").await;

    page.goto(&format!("{url}/jobs/new"))
        .await
        .expect("new job");
    page.wait()
        .for_element(Locator::Css("form[data-ready=on]"))
        .await
        .expect("the page's script");
    audit(page, &axe, "the new-job form").await;
    let folder = tempfile::tempdir().expect("dir");
    let scene_file = folder.path().join("scene.toml");
    std::fs::write(
        &scene_file,
        pictor_render::builtin::scene::demo_scene_toml(),
    )
    .expect("scene");
    page.find(Locator::Id("scene-file"))
        .await
        .expect("the file field")
        .send_keys(scene_file.to_str().expect("utf-8"))
        .await
        .expect("choose");
    within(10, "the scene file was never offered", async || {
        run(page, "return document.getElementById('main-file').value;").await == "scene.toml"
    })
    .await;
    for (field, value) in [("width", "64"), ("height", "36"), ("samples", "4")] {
        type_into(page, field, value).await;
    }
    page.find(Locator::Id("get-quote"))
        .await
        .expect("the button")
        .click()
        .await
        .expect("quote");
    page.wait()
        .for_element(Locator::Id("quote-p50"))
        .await
        .expect("the quote");
    audit(page, &axe, "the quote").await;

    page.goto(&format!("{url}/account")).await.expect("account");
    audit(page, &axe, "the Account page (signed in with a key)").await;
    for (field, value) in [
        ("login", "studio"),
        ("password", "a long enough password"),
        ("repeated", "a long enough password"),
    ] {
        page.find(Locator::Id(field))
            .await
            .expect("a field")
            .send_keys(value)
            .await
            .expect("type");
    }
    page.find(Locator::Css("#set-password button"))
        .await
        .expect("the button")
        .click()
        .await
        .expect("set");
    page.wait()
        .for_element(Locator::Id("link-account"))
        .await
        .expect("the person's Account page");
    audit(page, &axe, "the Account page of a person").await;

    page.goto(&format!("{url}/workers/new"))
        .await
        .expect("new worker");
    audit(page, &axe, "the new-worker form").await;
    page.find(Locator::Id("name"))
        .await
        .expect("the name field")
        .send_keys("Studio GPU")
        .await
        .expect("type");
    page.find(Locator::Css("#new-worker button[type=submit]"))
        .await
        .expect("the button")
        .click()
        .await
        .expect("create");
    page.wait()
        .for_element(Locator::Id("download-config"))
        .await
        .expect("the worker's page");
    audit(page, &axe, "a worker's page").await;
    page.goto(&format!("{url}/workers"))
        .await
        .expect("My Workers");
    audit(page, &axe, "My Workers").await;
    page.goto(&format!("{url}/checkers"))
        .await
        .expect("Checker Nodes");
    audit(page, &axe, "Checker Nodes").await;
    page.goto(&format!("{url}/credit")).await.expect("Credit");
    page.wait()
        .for_element(Locator::Css("table.entries"))
        .await
        .expect("the creator's entries");
    audit(page, &axe, "Rewards and Credit").await;
    page.goto(&format!("{url}/webhooks"))
        .await
        .expect("Webhooks");
    audit(page, &axe, "Webhooks").await;

    page.goto(&format!("{url}/explorer"))
        .await
        .expect("Explorer");
    audit(page, &axe, "the Explorer").await;
    page.goto(&format!("{url}/explorer/ledger"))
        .await
        .expect("ledger");
    audit(page, &axe, "the ledger page").await;
    page.goto(&format!("{url}/explorer/jobs/{}", job.0))
        .await
        .expect("a public job");
    audit(page, &axe, "a job's public record").await;
    let frame = lease.work.frames()[0];
    page.goto(&format!("{url}/explorer/jobs/{}/frames/{frame}", job.0))
        .await
        .expect("a frame's record");
    page.wait()
        .for_element(Locator::Css(".verdict"))
        .await
        .expect("the checker's verdict");
    audit(page, &axe, "a frame's public record").await;

    // An admin's pages: the operator's view (with a stuck-free market) and deposits.
    page.goto(&format!("{url}/account")).await.expect("account");
    sign_out(page).await;
    let ops = network
        .admin
        .accounts()
        .create(pictor_core::api::Role::Admin, "ops")
        .await
        .expect("an admin");
    submit_key(page, &ops.api_key).await;
    wait_for_path(page, "/").await;
    page.goto(&format!("{url}/admin")).await.expect("Operator");
    page.wait()
        .for_element(Locator::Id("workers-online"))
        .await
        .expect("the operator's view");
    audit(page, &axe, "the operator's view").await;
    page.goto(&format!("{url}/admin/deposits"))
        .await
        .expect("Deposits");
    audit(page, &axe, "the deposit form").await;
    browser.close().await;
}
