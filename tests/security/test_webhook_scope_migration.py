"""Migration 0005_webhook_scope: subscriptions made before it learn their creator's role from the audit log, so
an integration subscriber's events are cut from the first delivery after the upgrade."""

from __future__ import annotations

from sqlalchemy import text

from service.db.engine import make_engine
from service.db.migrate import downgrade, upgrade

NOW = "2026-12-01 08:00:00+00:00"


def test_existing_subscriptions_take_the_role_of_their_webhook_created_event(databases):
    url = databases.empty_url()
    upgrade(url, "0004")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for seq, (hook, role) in enumerate([("HOOK_ADMIN", "admin"), ("HOOK_INTEGRATION", "integration")], 1):
                conn.execute(text(
                    "INSERT INTO webhook_subscription (id, url, events, description, secret, created_by, version,"
                    " created_at, updated_at) VALUES (:id, 'http://10.0.0.1/h', '[\"*\"]', NULL, 'whsec_x',"
                    " :role, 1, :now, :now)"), {"id": hook, "role": role, "now": NOW})
                conn.execute(text(
                    "INSERT INTO audit_event (seq, at, actor_name, actor_role, request_id, action, entity, entity_id,"
                    " data, prev_hash, hash) VALUES (:seq, :now, :role, :role, NULL, 'webhook.created', 'webhook',"
                    " :id, '{}', :prev, :hash)"),
                    {"seq": seq, "now": NOW, "role": role, "id": hook, "prev": f"{seq - 1:064x}",
                     "hash": f"{seq:064x}"})
            conn.execute(text(
                "INSERT INTO webhook_subscription (id, url, events, description, secret, created_by, version,"
                " created_at, updated_at) VALUES ('HOOK_UNKNOWN', 'http://10.0.0.1/h', '[\"*\"]', NULL, 'whsec_y',"
                " 'someone', 1, :now, :now)"), {"now": NOW})
        upgrade(url)
        with engine.connect() as conn:
            roles = dict(conn.execute(text("SELECT id, created_by_role FROM webhook_subscription")).all())
        assert roles == {"HOOK_ADMIN": "admin", "HOOK_INTEGRATION": "integration",
                         "HOOK_UNKNOWN": "integration"}  # no record of its creator: the narrower view
        downgrade(url, "0004")
        upgrade(url)
    finally:
        engine.dispose()
