-- The order flow kit (internal/flow): one timeline for the orders of every flow (微志愿's needs,
-- and next 微党校's lesson orders, 微协商's referrals, 微联盟's projects and cases). A row is a
-- step and the stay in the state it entered: when (at), by when it had to be left (due_at, from
-- the state's deadline), when it was left (left_at, empty while the order is still there), and a
-- rating (1–5) when the step rated the order. The pillar's own row keeps the present status; the
-- kit changes both in one transaction. Kept in lockstep with ../postgres/0014_flow.sql.
CREATE TABLE flow_steps (
    id          INTEGER PRIMARY KEY,
    flow        TEXT NOT NULL,
    order_id    INTEGER NOT NULL,
    from_state  TEXT NOT NULL DEFAULT '',
    to_state    TEXT NOT NULL,
    action      TEXT NOT NULL,
    actor_id    INTEGER,
    actor_name  TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    rating      INTEGER CHECK (rating BETWEEN 1 AND 5),
    at          TIMESTAMP NOT NULL,
    due_at      TIMESTAMP,
    left_at     TIMESTAMP
);
CREATE INDEX flow_steps_order ON flow_steps (flow, order_id, id);
CREATE INDEX flow_steps_due ON flow_steps (flow, due_at) WHERE left_at IS NULL AND due_at IS NOT NULL;

-- 微志愿's needs kept their steps in volunteer_need_events, which the need page shows: they move
-- here in their order, each with the state it left and the action that moved it (a move back to
-- open or from taken to assigned was a sending back), and the table goes.
INSERT INTO flow_steps (flow, order_id, from_state, to_state, action, actor_id, actor_name, reason, rating, at, left_at)
SELECT 'volunteer.need', e.need_id, COALESCE(e.prev, ''), e.status,
    CASE WHEN e.prev IS NULL THEN 'open'
         WHEN e.status = 'open' OR (e.status = 'assigned' AND e.prev = 'taken') THEN 'send_back'
         WHEN e.status = 'assigned' THEN 'assign'
         WHEN e.status = 'taken' THEN 'take'
         WHEN e.status = 'done' THEN 'done'
         WHEN e.status = 'rated' THEN 'rate'
         ELSE 'refuse' END,
    e.actor_id, e.actor_name, e.reason, CASE WHEN e.status = 'rated' THEN n.rating END, e.created_at, e.next_at
FROM (SELECT ev.*, LAG(ev.status) OVER (PARTITION BY ev.need_id ORDER BY ev.id) AS prev,
             LEAD(ev.created_at) OVER (PARTITION BY ev.need_id ORDER BY ev.id) AS next_at
      FROM volunteer_need_events ev) e
JOIN volunteer_needs n ON n.id = e.need_id
ORDER BY e.need_id, e.id;

DROP TABLE volunteer_need_events;
