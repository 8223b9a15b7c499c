use pathways_domain::{AgencyKind, Role, RoleSet};
use pathways_store::NewUser;

use crate::on_every_backend;

#[tokio::test]
async fn agencies_and_users_round_trip() {
    on_every_backend!(|store| {
        let police = pathways_store::testing::create_agency(&store, "Police", AgencyKind::Police)
            .await
            .expect("agency");
        let dup = pathways_store::testing::create_agency(&store, "Police", AgencyKind::School)
            .await
            .expect_err("duplicate name");
        assert!(dup.is_unique_violation());
        let user = pathways_store::testing::create_user(
            &store,
            &NewUser {
                agency_id: police.id.clone(),
                email: " PC.Reid@Police.Example ".into(),
                display_name: "PC Reid".into(),
                roles: RoleSet::new(vec![Role::PartnerReferrer]),
                password_hash: None,
            },
        )
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
        let admin = pathways_store::testing::permitted(pathways_domain::Permission::Administer);
        pathways_store::testing::write(&store, async |tx| {
            tx.set_password_hash(&user.id, "$argon2id$x").await?;
            tx.set_roles(&admin, &user.id, &RoleSet::new(vec![Role::Manager]))
                .await
        })
        .await
        .expect("password and roles");
        // A write needs the administrator's proof.
        let analyst = pathways_store::testing::permitted(pathways_domain::Permission::ViewInsight);
        let refused = pathways_store::testing::write(&store, async |tx| {
            tx.set_roles(&analyst, &user.id, &RoleSet::new(vec![Role::Administrator]))
                .await
        })
        .await
        .expect_err("not an administrator");
        assert!(matches!(
            refused,
            pathways_store::StoreError::NotPermitted(pathways_domain::Permission::Administer)
        ));
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
