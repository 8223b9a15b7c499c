use pathways_domain::{AgencyKind, Role, RoleSet};
use pathways_store::NewUser;

use crate::on_every_backend;

#[tokio::test]
async fn agencies_and_users_round_trip() {
    on_every_backend!(|store| {
        let police = store
            .create_agency("Police", AgencyKind::Police)
            .await
            .expect("agency");
        let dup = store
            .create_agency("Police", AgencyKind::School)
            .await
            .expect_err("duplicate name");
        assert!(dup.is_unique_violation());
        let user = store
            .create_user(&NewUser {
                agency_id: police.id.clone(),
                email: " PC.Reid@Police.Example ".into(),
                display_name: "PC Reid".into(),
                roles: RoleSet::new(vec![Role::PartnerReferrer]),
                password_hash: None,
            })
            .await
            .expect("user");
        assert_eq!(user.email, "pc.reid@police.example");
        assert!(!user.has_password);
        let found = store
            .user_by_email("pc.reid@POLICE.example")
            .await
            .expect("query")
            .expect("found");
        assert_eq!(found, user);
        store
            .set_password_hash(&user.id, "$argon2id$x")
            .await
            .expect("set");
        store
            .set_roles(&user.id, &RoleSet::new(vec![Role::Manager]))
            .await
            .expect("roles");
        let after = store.user(&user.id).await.expect("user");
        assert!(after.has_password);
        assert_eq!(after.roles.roles(), &[Role::Manager]);
        assert_eq!(
            store
                .list_users(Some(&police.id))
                .await
                .expect("list")
                .len(),
            1
        );
        assert_eq!(
            store.list_users(Some("other")).await.expect("list").len(),
            0
        );
        assert_eq!(
            store.list_agencies().await.expect("list")[0].kind,
            AgencyKind::Police
        );
    });
}
