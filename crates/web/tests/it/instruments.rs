//! Councils change the youth violence screening: an administrator publishes a new version;
//! new assessments and the score API use it while earlier assessments keep theirs; invalid
//! changes are refused field by field with nothing stored; DASH stays fixed; only
//! administrators reach the pages.

use pathways_domain::Role;
use pathways_store::User;
use pathways_store::cases::NewCase;
use pathways_store::people::PersonDetails;

use crate::support::{App, get, location, post_form, post_pairs};

/// Every screening indicator answered: "yes" for the ones named, "no" for the rest.
fn screening_answers(app_yes: &[&str]) -> Vec<(String, String)> {
    let def = pathways_risk::InstrumentRegistry::builtin()
        .expect("shipped")
        .latest(pathways_risk::YV_SCREENING)
        .expect("screening")
        .clone();
    def.core_questions()
        .map(|q| {
            let a = if app_yes.contains(&q.id.as_str()) {
                "yes"
            } else {
                "no"
            };
            (q.id.clone(), a.to_string())
        })
        .collect()
}

async fn open_case(app: &App, lead: &User) -> String {
    let person = pathways_store::testing::create_person(
        app.store(),
        &PersonDetails {
            first_name: "Kai".into(),
            surname: "Example".into(),
            dob: Some("2010-03-04".into()),
            ..PersonDetails::default()
        },
        "test",
    )
    .await
    .expect("person");
    pathways_store::testing::write(app.store(), async |tx| {
        tx.open_case(
            &pathways_store::testing::permitted(pathways_domain::Permission::WorkCases),
            &NewCase {
                person_id: person,
                lead_worker_id: lead.id.clone(),
                opened_by: lead.id.clone(),
                ..NewCase::default()
            },
        )
        .await
    })
    .await
    .expect("case")
}

async fn text(app: &App, client: &reqwest::Client, path: &str) -> (u16, String) {
    let res = get(app, client, path).await;
    let status = res.status().as_u16();
    (status, res.text().await.expect("body"))
}

const PUBLISH: &str = "/admin/instruments/yv-screening/versions";
const YES: &[&str] = &["weapon-carrying", "county-lines"];

#[tokio::test]
async fn a_published_version_scores_new_assessments_while_earlier_ones_keep_theirs() {
    let app = App::start().await;
    let admin = app
        .user("ola@example.org", "Ola Admin", &[Role::Administrator])
        .await;
    let worker = app
        .user("amara@example.org", "Amara Okafor", &[Role::Practitioner])
        .await;
    let (admin_client, admin_csrf, _) = app.session(&admin).await;
    let (client, csrf, _) = app.session(&worker).await;
    let case_id = open_case(&app, &worker).await;
    let assess = format!("/cases/{case_id}/assess/yv-screening");

    // Version 1: weapon carrying (3) + county lines (3) = 6, medium (5 to 9).
    let res = post_pairs(&app, &client, &assess, &csrf, &screening_answers(YES)).await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );

    // The administrator raises the weapon weight to 5 and lowers high to start at 8.
    let (status, form) = text(&app, &admin_client, "/admin/instruments/yv-screening/edit").await;
    assert_eq!(status, 200);
    assert!(
        form.contains("name=\"base_version\" value=\"1\"")
            && form.contains("id=\"weight-weapon-carrying\"")
            && form.contains("Publish version 2"),
        "{form}"
    );
    let res = post_form(
        &app,
        &admin_client,
        PUBLISH,
        &admin_csrf,
        &[
            ("base_version", "1"),
            ("weight-weapon-carrying", "5"),
            ("band-high", "8"),
            ("note", "Weapon carrying is the strongest local predictor"),
        ],
    )
    .await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    assert_eq!(
        location(&res),
        "/admin/instruments/yv-screening?done=instrument-published"
    );
    let stored = app
        .store()
        .instrument_versions("yv-screening")
        .await
        .expect("versions");
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (
            stored[0].version,
            stored[0].published_by.as_str(),
            stored[0].change_note.as_str()
        ),
        (
            2,
            admin.id.as_str(),
            "Weapon carrying is the strongest local predictor"
        )
    );
    let published = app.audit().await;
    assert!(
        published
            .iter()
            .any(|(a, r, o)| a == "instrument_published" && r == "yv-screening" && o == "allowed"),
        "{published:?}"
    );

    // The instrument page shows both versions, who published, the note and the changes.
    let (_, page) = text(
        &app,
        &admin_client,
        "/admin/instruments/yv-screening?done=instrument-published",
    )
    .await;
    assert!(page.contains("New version published."), "{page}");
    assert!(page.contains("id=\"version-2\"") && page.contains("id=\"version-1\""));
    assert!(page.contains("by Ola Admin") && page.contains("Shipped with Pathways"));
    assert!(page.contains("Weapon carrying is the strongest local predictor"));
    assert!(
        page.contains("Weight of weapon-carrying is 5 (was 3)"),
        "{page}"
    );
    assert!(page.contains("High starts at 8 (was 10)"));
    assert!(page.contains("<li>Medium: 5 to 7</li>") && page.contains("<li>High: 8 or more</li>"));
    let (_, list) = text(&app, &admin_client, "/admin/instruments").await;
    assert!(list.contains("id=\"current-yv-screening\">2<"), "{list}");
    assert!(list.contains("id=\"current-dash\">1<"));

    // A new assessment uses version 2: 5 + 3 = 8, now high.
    let (_, form) = text(&app, &client, &assess).await;
    assert!(form.contains("version 2") && form.contains("name=\"version\" value=\"2\""));
    let res = post_pairs(&app, &client, &assess, &csrf, &screening_answers(YES)).await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let history = app.store().assessments(&case_id).await.expect("history");
    let summary: Vec<(i64, i64, &str)> = history
        .iter()
        .map(|a| (a.version, a.score, a.level.as_str()))
        .collect();
    assert_eq!(summary, [(2, 8, "high"), (1, 6, "medium")]);

    // The case page shows each assessment with its own version and level.
    let (_, case_page) = text(&app, &client, &format!("/cases/{case_id}")).await;
    assert!(
        case_page.contains("Youth violence and exploitation screening (v2)")
            && case_page.contains("Youth violence and exploitation screening (v1)"),
        "{case_page}"
    );
    assert!(case_page.contains("score 8 of 40") && case_page.contains("score 6 of 38"));

    // The score API uses the latest version, and an earlier one when asked.
    let answers: std::collections::BTreeMap<String, String> =
        screening_answers(YES).into_iter().collect();
    for (version, score, level) in [(None, 8, "high"), (Some(1), 6, "medium")] {
        let mut body = serde_json::json!({ "answers": answers, "assessment_date": "2026-11-29" });
        if let Some(v) = version {
            body["version"] = v.into();
        }
        let res = client
            .post(app.url("/api/v1/instruments/yv-screening/score"))
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
            .await
            .expect("POST");
        assert_eq!(
            res.status(),
            200,
            "{}",
            res.text().await.unwrap_or_default()
        );
        let json: serde_json::Value = res.json().await.expect("json");
        assert_eq!(
            (
                json["version"].as_u64(),
                json["score"].as_u64(),
                json["level"].as_str()
            ),
            (Some(version.unwrap_or(2)), Some(score), Some(level))
        );
    }
}

#[tokio::test]
async fn an_assessment_form_opened_before_a_new_version_is_shown_again_not_scored() {
    let app = App::start().await;
    let admin = app
        .user("ola@example.org", "Ola Admin", &[Role::Administrator])
        .await;
    let worker = app
        .user("amara@example.org", "Amara Okafor", &[Role::Practitioner])
        .await;
    let (admin_client, admin_csrf, _) = app.session(&admin).await;
    let (client, csrf, _) = app.session(&worker).await;
    let case_id = open_case(&app, &worker).await;
    let assess = format!("/cases/{case_id}/assess/yv-screening");
    let res = post_form(
        &app,
        &admin_client,
        PUBLISH,
        &admin_csrf,
        &[
            ("base_version", "1"),
            ("remove-fear-of-areas", "yes"),
            ("note", "Fear of areas is covered by victim of violence"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    // Answers to version 1's questions, sent after version 2 was published.
    let mut answers = screening_answers(YES);
    answers.push(("version".into(), "1".into()));
    let res = post_pairs(&app, &client, &assess, &csrf, &answers).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.expect("body");
    assert!(
        page.contains("href=\"#assessment-version\"")
            && page.contains("This tool was updated to version 2"),
        "{page}"
    );
    assert!(
        page.contains("name=\"version\" value=\"2\"") && !page.contains("name=\"fear-of-areas\"")
    );
    assert!(page.contains(
        "id=\"weapon-carrying-yes\" name=\"weapon-carrying\" type=\"radio\" value=\"yes\" checked"
    ));
    assert!(
        app.store()
            .assessments(&case_id)
            .await
            .expect("history")
            .is_empty()
    );
}

#[tokio::test]
async fn invalid_changes_are_refused_field_by_field_and_nothing_is_stored() {
    let app = App::start().await;
    let admin = app
        .user("ola@example.org", "Ola Admin", &[Role::Administrator])
        .await;
    let (client, csrf, _) = app.session(&admin).await;
    let res = post_form(
        &app,
        &client,
        PUBLISH,
        &csrf,
        &[
            ("base_version", "1"),
            ("text-county-lines", "   "),
            ("weight-weapon-carrying", "500"),
            ("band-medium", "12"),
            ("band-high", "11"),
            ("new-0-id", "going-missing"),
            ("new-0-text", "Has the young person gone missing again?"),
            ("new-0-section", "education-and-home"),
            ("new-0-weight", "2"),
            ("note", ""),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.expect("body");
    assert!(page.contains("govuk-error-summary"), "{page}");
    for (field, message) in [
        ("text-county-lines", "Enter the wording of indicator 2"),
        (
            "weight-weapon-carrying",
            "Enter the weight of indicator 9 as a whole number from 1 to 100",
        ),
        (
            "band-high",
            "High must start at a higher score than Medium (which starts at 12)",
        ),
        (
            "new-0-id",
            "The id going-missing is already used by another indicator",
        ),
        ("note", "Enter a change note"),
    ] {
        assert!(
            page.contains(&format!("href=\"#{field}\"")),
            "summary links {field}: {page}"
        );
        assert!(page.contains(message), "{message}: {page}");
        assert!(
            page.contains(&format!("id=\"{field}-error\"")),
            "message beside {field}"
        );
    }
    // What was typed is shown again.
    assert!(
        page.contains("value=\"500\"") && page.contains("Has the young person gone missing again?")
    );

    // Thresholds above the highest possible score, and removing every indicator.
    let res = post_form(
        &app,
        &client,
        PUBLISH,
        &csrf,
        &[
            ("base_version", "1"),
            ("band-high", "39"),
            ("note", "Too high"),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.expect("body");
    assert!(
        page.contains("High starts at 39 but the highest possible score is 38"),
        "{page}"
    );
    let def = pathways_risk::InstrumentRegistry::builtin()
        .expect("shipped")
        .latest("yv-screening")
        .expect("screening")
        .clone();
    let mut remove_all: Vec<(String, String)> = def
        .core_questions()
        .map(|q| (format!("remove-{}", q.id), "yes".to_string()))
        .collect();
    remove_all.push(("base_version".into(), "1".into()));
    remove_all.push(("note".into(), "Start again".into()));
    let res = post_pairs(&app, &client, PUBLISH, &csrf, &remove_all).await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .expect("body")
            .contains("Keep at least one indicator")
    );
    // A form with no change at all.
    let res = post_form(
        &app,
        &client,
        PUBLISH,
        &csrf,
        &[("base_version", "1"), ("note", "No change")],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .expect("body")
            .contains("Nothing has changed")
    );

    assert!(
        app.store()
            .instrument_versions("yv-screening")
            .await
            .expect("versions")
            .is_empty()
    );
    assert_eq!(app.audited("instrument_published").await, 0);

    // A form made from version 1 after version 2 was published is not applied to version 2.
    let ok = post_form(
        &app,
        &client,
        PUBLISH,
        &csrf,
        &[
            ("base_version", "1"),
            ("band-medium", "6"),
            ("note", "Medium from 6"),
        ],
    )
    .await;
    assert_eq!(ok.status(), 303);
    let stale = post_form(
        &app,
        &client,
        PUBLISH,
        &csrf,
        &[
            ("base_version", "1"),
            ("band-medium", "4"),
            ("note", "Medium from 4"),
        ],
    )
    .await;
    assert_eq!(stale.status(), 422);
    assert!(
        stale
            .text()
            .await
            .expect("body")
            .contains("Version 2 was published while you were editing version 1")
    );
    let stored = app
        .store()
        .instrument_versions("yv-screening")
        .await
        .expect("versions");
    assert_eq!(stored.len(), 1);
    assert_eq!(app.audited("instrument_published").await, 1);
}

#[tokio::test]
async fn dash_cannot_be_changed_locally() {
    let app = App::start().await;
    let admin = app
        .user("ola@example.org", "Ola Admin", &[Role::Administrator])
        .await;
    let (client, csrf, _) = app.session(&admin).await;
    let (status, page) = text(&app, &client, "/admin/instruments/dash").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("This instrument cannot be changed locally")
            && page.contains("DASH is a national standard")
            && !page.contains("/admin/instruments/dash/edit"),
        "{page}"
    );
    let (status, page) = text(&app, &client, "/admin/instruments/dash/edit").await;
    assert_eq!(status, 403);
    assert!(page.contains("href=\"#local-changes\"") && page.contains("cannot be changed locally"));
    let res = post_form(
        &app,
        &client,
        "/admin/instruments/dash/versions",
        &csrf,
        &[
            ("base_version", "1"),
            ("band-high", "12"),
            ("note", "Lower high"),
        ],
    )
    .await;
    assert_eq!(res.status(), 403);
    assert!(
        app.store()
            .all_instrument_versions()
            .await
            .expect("versions")
            .is_empty()
    );
    let (status, _) = text(&app, &client, "/admin/instruments/nope").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn only_administrators_reach_the_instrument_pages() {
    let app = App::start().await;
    let manager = app
        .user(
            "mo@example.org",
            "Mo Manager",
            &[Role::Manager, Role::Practitioner],
        )
        .await;
    let (client, csrf, _) = app.session(&manager).await;
    for path in [
        "/admin/instruments",
        "/admin/instruments/yv-screening",
        "/admin/instruments/yv-screening/edit",
    ] {
        assert_eq!(get(&app, &client, path).await.status(), 403, "{path}");
    }
    let res = post_form(
        &app,
        &client,
        PUBLISH,
        &csrf,
        &[
            ("base_version", "1"),
            ("band-high", "8"),
            ("note", "Not mine to change"),
        ],
    )
    .await;
    assert_eq!(res.status(), 403);
    assert!(
        app.store()
            .all_instrument_versions()
            .await
            .expect("versions")
            .is_empty()
    );
}
