-- Shared files, SQLite. The bytes live in the file store (a directory by default) under
-- the file's id; this table holds what is known about them. A `file` message points here.

CREATE TABLE files (
    id          TEXT    PRIMARY KEY,            -- 32 hex chars, generated; also the storage key
    room_id     INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    uploader_id INTEGER NOT NULL REFERENCES users (id),
    name        TEXT    NOT NULL,               -- the client's name, cleaned: metadata only
    size        INTEGER NOT NULL,               -- bytes
    mime        TEXT    NOT NULL,               -- sniffed from the content
    sha256      TEXT    NOT NULL,               -- hex, of the stored bytes
    created_at  INTEGER NOT NULL
);
CREATE INDEX files_by_room ON files (room_id);

ALTER TABLE messages ADD COLUMN file_id TEXT REFERENCES files (id);
