//! Pictor Cloud in a real browser (headless Chromium over WebDriver, `tests/common/browser.rs`)
//! against a real coordinator: a creator opens the app, is sent to the sign-in page, signs in with
//! the key typed into the labelled field, sees their jobs, opens one, and signs out; their name,
//! which is markup, shows as text and runs nothing; another creator's job is a "Not Found" page.
//! Skips without Chromium and chromedriver unless `PICTOR_REQUIRE_BROWSER=1` (CI).
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::browser::Browser;
use common::{Network, small_spec, upload_test_scene};
use fantoccini::Locator;
use pictor_core::api::Role;
use pictor_network::service::Config;

/// Waits (up to 10 s) until the page's path is `path`: a click's navigation may still be running.
async fn wait_for_path(page: &fantoccini::Client, path: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let now = page.current_url().await.expect("url");
        if now.path() == path {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the page stayed at {now}, not {path}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creator_signs_in_sees_their_jobs_and_signs_out_in_a_real_browser() {
    let Some(browser) = Browser::start_or_skip().await else {
        return;
    };
    let network = Network::start(Config::default()).await;
    let name = "<script>document.title='owned'</script>";
    let (creator, creator_id, key) = network.account_with_key(Role::Creator, name).await;
    network
        .admin
        .accounts()
        .deposit(
            creator_id,
            pictor_core::Money::from_credits(100).expect("credits"),
        )
        .send()
        .await
        .expect("deposit");
    let (worker, worker_id, _) = network.account_with_key(Role::Worker, "gpu").await;
    let signing = pictor_core::ledger::SigningKey::from_bytes(&common::rand_seed(worker_id.0));
    worker
        .workers()
        .register(common::register_request("gpu", &signing, 2))
        .await
        .expect("register");
    let scene = upload_test_scene(&creator).await;
    let job = creator
        .jobs()
        .submit(small_spec(scene, "1-3"))
        .send()
        .await
        .expect("submit")
        .id;
    let page = &browser.client;
    let url = &network.url;

    // Signed out, the app sends the browser to the sign-in form.
    page.goto(url).await.expect("open the app");
    wait_for_path(page, "/signin").await;
    // The key goes in the field its label names.
    let label = page
        .find(Locator::Css("label[for=api_key]"))
        .await
        .expect("a label");
    assert_eq!(label.text().await.expect("label text"), "API key");
    let field = page.find(Locator::Id("api_key")).await.expect("the field");
    field.send_keys("pk_wrong").await.expect("type");
    page.find(Locator::Css("form button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("submit");
    wait_for_path(page, "/signin").await;
    let alert = page
        .find(Locator::Css("[role=alert]"))
        .await
        .expect("an error");
    assert!(alert.text().await.expect("text").contains("not valid"));
    let field = page.find(Locator::Id("api_key")).await.expect("the field");
    field.send_keys(&key).await.expect("type");
    page.find(Locator::Css("form button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("submit");
    wait_for_path(page, "/").await;

    // The jobs list, with the name shown as text: the script in it never ran.
    let heading = page.find(Locator::Css("main h1")).await.expect("a heading");
    assert_eq!(heading.text().await.expect("text"), "Rendering");
    let who = page.find(Locator::Css("header strong")).await.expect("who");
    assert_eq!(who.text().await.expect("text"), name);
    assert_eq!(
        page.title().await.expect("title"),
        "Rendering — Pictor Cloud"
    );
    let link = page
        .find(Locator::LinkText(&format!("Job {}", job.0)))
        .await
        .expect("the job's link");
    link.click().await.expect("open the job");
    wait_for_path(page, &format!("/jobs/{}", job.0)).await;
    let facts = page
        .find(Locator::Css("main dl"))
        .await
        .expect("the job's facts");
    assert!(facts.text().await.expect("text").contains("0 of 3"));

    // Another creator's browser session gets "Not Found" for that page.
    page.find(Locator::Css("header form button"))
        .await
        .expect("sign out")
        .click()
        .await
        .expect("sign out");
    wait_for_path(page, "/signin").await;
    let (_, _, rival_key) = network.account_with_key(Role::Creator, "rival").await;
    page.find(Locator::Id("api_key"))
        .await
        .expect("the field")
        .send_keys(&rival_key)
        .await
        .expect("type");
    page.find(Locator::Css("form button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("submit");
    wait_for_path(page, "/").await;
    page.goto(&format!("{url}/jobs/{}", job.0))
        .await
        .expect("open the other's job");
    let heading = page.find(Locator::Css("main h1")).await.expect("a heading");
    assert_eq!(heading.text().await.expect("text"), "Not Found");
    browser.close().await;
}
