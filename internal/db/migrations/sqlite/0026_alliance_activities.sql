-- 微联盟's activities (联盟活动): an activity organised by one or more member units for one or more
-- villages, on the kit's attendance model (attend_events of kind alliance.activity), with the
-- people served who were not registered counted beside the roll. Person-times (人次) are the
-- check-ins plus that count. Kept in lockstep with ../postgres/0026_alliance_activities.sql.

-- An activity: its kind (便民服务日, 敬老服务日, 宣传, 文体, 培训, 其他), its place and time, the seats
-- residents may register for (0: no registration), the bank rule its attendees earn under ('' for
-- none), and the people served who were not registered, with how they were counted.
CREATE TABLE alliance_activities (
    id             INTEGER PRIMARY KEY,
    town_id        INTEGER NOT NULL REFERENCES towns(id),
    kind           TEXT NOT NULL CHECK (kind IN ('service_day', 'elderly_day', 'publicity', 'culture', 'training', 'other')),
    title          TEXT NOT NULL,
    place          TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    starts_at      TIMESTAMP NOT NULL,
    ends_at        TIMESTAMP NOT NULL,
    capacity       INTEGER NOT NULL DEFAULT 0 CHECK (capacity >= 0),
    rule_code      TEXT NOT NULL DEFAULT '',
    served         INTEGER NOT NULL DEFAULT 0 CHECK (served >= 0),
    served_method  TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'closed', 'cancelled')),
    cancel_reason  TEXT NOT NULL DEFAULT '',
    created_by     TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX alliance_activities_town ON alliance_activities (town_id, starts_at);

-- The units that organise an activity.
CREATE TABLE alliance_activity_units (
    activity_id  INTEGER NOT NULL REFERENCES alliance_activities(id),
    unit_id      INTEGER NOT NULL REFERENCES alliance_units(id),
    PRIMARY KEY (activity_id, unit_id)
);
CREATE INDEX alliance_activity_units_unit ON alliance_activity_units (unit_id);

-- The villages an activity is for: their residents may register, and their staff check people in.
CREATE TABLE alliance_activity_villages (
    activity_id  INTEGER NOT NULL REFERENCES alliance_activities(id),
    village_id   INTEGER NOT NULL REFERENCES villages(id),
    PRIMARY KEY (activity_id, village_id)
);
CREATE INDEX alliance_activity_villages_village ON alliance_activity_villages (village_id);
