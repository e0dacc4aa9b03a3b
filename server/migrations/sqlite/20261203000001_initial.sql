-- Confab schema, SQLite. Times are Unix milliseconds (INTEGER); text is stored as given.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL,
    username_key  TEXT    NOT NULL UNIQUE,      -- lower-cased: names are unique ignoring case
    password_hash TEXT    NOT NULL,             -- argon2id PHC string
    created_at    INTEGER NOT NULL,
    last_seen     INTEGER
);

CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,             -- SHA-256 of the cookie's token, hex
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE rooms (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('group', 'direct')),
    name       TEXT    NOT NULL,
    name_key   TEXT    UNIQUE,                  -- group rooms: lower-cased name; direct: NULL
    direct_key TEXT    UNIQUE,                  -- direct rooms: '<low user id>:<high user id>'
    last_seq   INTEGER NOT NULL DEFAULT 0,      -- seq of the newest message
    created_by INTEGER REFERENCES users (id),
    created_at INTEGER NOT NULL
);

CREATE TABLE memberships (
    room_id       INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at     INTEGER NOT NULL,
    last_read_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);

CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,
    room_id       INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    sender_id     INTEGER NOT NULL REFERENCES users (id),
    kind          TEXT    NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'file')),
    body          TEXT    NOT NULL,
    client_msg_id TEXT,
    sent_at       INTEGER NOT NULL,
    UNIQUE (room_id, seq),
    UNIQUE (sender_id, client_msg_id)
);
