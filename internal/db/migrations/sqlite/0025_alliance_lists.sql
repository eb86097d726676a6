-- 微联盟's three lists (三单对接, internal/alliance): what member units can give (资源清单), what
-- villages need (需求清单), and the projects that match one to the other (项目清单, on the flow
-- kit), with their milestones. Kept in lockstep with ../postgres/0025_alliance_lists.sql.

-- A resource a unit offers: its kind, what it is, how much or how many, the days it is offered
-- (from_on to to_on, the town's calendar) and the villages it can reach (none listed: all of the
-- town's). A withdrawn resource keeps its history and is matched no more.
CREATE TABLE alliance_resources (
    id           INTEGER PRIMARY KEY,
    town_id      INTEGER NOT NULL REFERENCES towns(id),
    unit_id      INTEGER NOT NULL REFERENCES alliance_units(id),
    kind         TEXT NOT NULL CHECK (kind IN ('venue', 'funds', 'goods', 'service', 'volunteers', 'training', 'jobs')),
    description  TEXT NOT NULL,
    amount       TEXT NOT NULL DEFAULT '',
    from_on      TEXT NOT NULL,
    to_on        TEXT NOT NULL,
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    created_by   INTEGER,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX alliance_resources_town ON alliance_resources (town_id, active, id);
CREATE INDEX alliance_resources_unit ON alliance_resources (unit_id, id);

CREATE TABLE alliance_resource_villages (
    resource_id  INTEGER NOT NULL REFERENCES alliance_resources(id),
    village_id   INTEGER NOT NULL REFERENCES villages(id),
    PRIMARY KEY (resource_id, village_id)
);

-- A need a village posts: its kind, what it is, how many people it concerns, by when (by_on).
-- source names where it came from (a 微志愿 need, a 微协商 decision or care visit, or typed in),
-- source_id the record there; one record makes one need.
CREATE TABLE alliance_needs (
    id           INTEGER PRIMARY KEY,
    town_id      INTEGER NOT NULL REFERENCES towns(id),
    village_id   INTEGER NOT NULL REFERENCES villages(id),
    kind         TEXT NOT NULL CHECK (kind IN ('venue', 'funds', 'goods', 'service', 'volunteers', 'training', 'jobs')),
    description  TEXT NOT NULL,
    people       INTEGER NOT NULL DEFAULT 0,
    by_on        TEXT NOT NULL,
    source       TEXT NOT NULL CHECK (source IN ('typed', 'volunteer', 'decision', 'visit')),
    source_id    INTEGER,
    closed       BOOLEAN NOT NULL DEFAULT FALSE,
    created_by   INTEGER,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX alliance_needs_town ON alliance_needs (town_id, village_id, id);
CREATE UNIQUE INDEX alliance_needs_source ON alliance_needs (source, source_id) WHERE source_id IS NOT NULL;

-- A project: a need matched to a unit's resource, on the flow alliance.project (proposed,
-- unit_agreed, in_progress, done, rated; declined with a reason by either side). A need is in one
-- live project at a time.
CREATE TABLE alliance_projects (
    id           INTEGER PRIMARY KEY,
    town_id      INTEGER NOT NULL REFERENCES towns(id),
    village_id   INTEGER NOT NULL REFERENCES villages(id),
    unit_id      INTEGER NOT NULL REFERENCES alliance_units(id),
    need_id      INTEGER NOT NULL REFERENCES alliance_needs(id),
    resource_id  INTEGER NOT NULL REFERENCES alliance_resources(id),
    title        TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL CHECK (status IN ('proposed', 'unit_agreed', 'in_progress', 'done', 'rated', 'declined')),
    rating       INTEGER CHECK (rating BETWEEN 1 AND 5),
    reason       TEXT NOT NULL DEFAULT '',
    created_by   INTEGER,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX alliance_projects_town ON alliance_projects (town_id, status, id);
CREATE INDEX alliance_projects_unit ON alliance_projects (unit_id, id);
CREATE INDEX alliance_projects_resource ON alliance_projects (resource_id);
CREATE UNIQUE INDEX alliance_projects_live_need ON alliance_projects (need_id) WHERE status <> 'declined';

-- A milestone of a project in progress: what was done, by whom, with photos (alliance_photos,
-- owner 'milestone').
CREATE TABLE alliance_milestones (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES alliance_projects(id),
    body        TEXT NOT NULL,
    by_name     TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX alliance_milestones_project ON alliance_milestones (project_id, id);
