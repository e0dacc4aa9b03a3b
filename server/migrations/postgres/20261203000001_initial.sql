-- Confab schema, PostgreSQL. Times are Unix milliseconds (BIGINT); text is stored as given.

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT   NOT NULL,
    username_key  TEXT   NOT NULL UNIQUE,       -- lower-cased: names are unique ignoring case
    password_hash TEXT   NOT NULL,              -- argon2id PHC string
    created_at    BIGINT NOT NULL,
    last_seen     BIGINT
);

CREATE TABLE sessions (
    token_hash TEXT   PRIMARY KEY,              -- SHA-256 of the cookie's token, hex
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE rooms (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT   NOT NULL CHECK (kind IN ('group', 'direct')),
    name       TEXT   NOT NULL,
    name_key   TEXT   UNIQUE,                   -- group rooms: lower-cased name; direct: NULL
    direct_key TEXT   UNIQUE,                   -- direct rooms: '<low user id>:<high user id>'
    last_seq   BIGINT NOT NULL DEFAULT 0,       -- seq of the newest message
    created_by BIGINT REFERENCES users (id),
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    room_id       BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at     BIGINT NOT NULL,
    last_read_seq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);

CREATE TABLE messages (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room_id       BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq           BIGINT NOT NULL,
    sender_id     BIGINT NOT NULL REFERENCES users (id),
    kind          TEXT   NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'file')),
    body          TEXT   NOT NULL,
    client_msg_id TEXT,
    sent_at       BIGINT NOT NULL,
    UNIQUE (room_id, seq),
    UNIQUE (sender_id, client_msg_id)
);
