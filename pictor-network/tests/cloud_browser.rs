//! Pictor Cloud in a real browser (headless Chromium over WebDriver, `tests/common/browser.rs`)
//! against a real coordinator: a creator opens the app, is sent to the sign-in page, signs in with
//! the key typed into the labelled field, sees their jobs, opens one, visits the Explorer, and
//! signs out; another creator — whose name is markup, shown as text, running nothing — gets a
//! "Not Found" page for that job. With `PICTOR_SCREENSHOTS=docs/images` it also saves the
//! README's pictures of the app.
//! Skips without Chromium and chromedriver unless `PICTOR_REQUIRE_BROWSER=1` (CI).
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::browser::Browser;
use common::{Network, small_spec, upload_test_scene};
use fantoccini::Locator;
use pictor_core::api::Role;
use pictor_network::service::Config;

/// Saves a screenshot of the page as `name` in `PICTOR_SCREENSHOTS` (a folder), when it is set:
/// how the README's pictures in docs/images/ are made.
async fn screenshot(page: &fantoccini::Client, name: &str) {
    if let Some(folder) = std::env::var_os("PICTOR_SCREENSHOTS") {
        let png = page.screenshot().await.expect("a screenshot");
        std::fs::write(std::path::Path::new(&folder).join(name), png).expect("save the screenshot");
    }
}

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
    let (creator, creator_id, key) = network
        .account_with_key(Role::Creator, "Nightfall Studio")
        .await;
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

    // The jobs list.
    let heading = page.find(Locator::Css("main h1")).await.expect("a heading");
    assert_eq!(heading.text().await.expect("text"), "Rendering");
    let who = page.find(Locator::Css("header strong")).await.expect("who");
    assert_eq!(who.text().await.expect("text"), "Nightfall Studio");
    assert_eq!(
        page.title().await.expect("title"),
        "Rendering — Pictor Cloud"
    );
    screenshot(page, "cloud-jobs.png").await;
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

    // The Explorer, from the header's navigation: the job without its owner's name.
    page.find(Locator::LinkText("Explorer"))
        .await
        .expect("the Explorer's link")
        .click()
        .await
        .expect("open the Explorer");
    wait_for_path(page, "/explorer").await;
    let explorer = page.find(Locator::Css("main")).await.expect("main");
    let text = explorer.text().await.expect("text");
    assert!(
        text.contains("Workers online") && text.contains("0 / 3"),
        "{text}"
    );
    assert!(!text.contains("Nightfall"), "{text}");
    screenshot(page, "cloud-explorer.png").await;

    // Another creator's browser session gets "Not Found" for that page.
    page.find(Locator::Css("header form button"))
        .await
        .expect("sign out")
        .click()
        .await
        .expect("sign out");
    wait_for_path(page, "/signin").await;
    // The rival's name is markup: it shows as text, and the script in it never runs.
    let name = "<script>document.title='owned'</script>";
    let (_, _, rival_key) = network.account_with_key(Role::Creator, name).await;
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
    let who = page.find(Locator::Css("header strong")).await.expect("who");
    assert_eq!(who.text().await.expect("text"), name);
    assert_eq!(
        page.title().await.expect("title"),
        "Not Found — Pictor Cloud"
    );
    browser.close().await;
}
