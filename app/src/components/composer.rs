//! The composer: Enter sends, Shift+Enter starts a new line. The body is checked against the
//! protocol's limits before it goes out; typing is announced (throttled) while the user
//! types and withdrawn when they send or leave the field. The paperclip attaches files.

use confab_protocol::RoomId;
use confab_protocol::limits::MAX_MESSAGE_CHARS;
use leptos::ev::KeyboardEvent;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::chat::use_chat;
use crate::state::sentence;

/// From this many characters on, a counter shows how close the limit is.
const COUNT_FROM: usize = MAX_MESSAGE_CHARS - 500;

/// The message input of one room.
#[component]
pub fn Composer(
    /// The room written to.
    room: RoomId,
) -> impl IntoView {
    let chat = use_chat();
    let store = chat.store;
    let (draft, set_draft) = signal(String::new());
    let (error, set_error) = signal(None::<String>);
    let placeholder = move || {
        store.rooms.with(|r| {
            r.get(&room)
                .map(|s| format!("Message {}", s.name))
                .unwrap_or_default()
        })
    };
    let count = move || draft.with(|d| d.chars().count());

    let send = move || {
        let body = draft.get_untracked();
        match chat.send_message(room, body) {
            Ok(()) => {
                set_draft.set(String::new());
                set_error.set(None);
            }
            Err(reason) => set_error.set(Some(reason)),
        }
    };
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        }
    };
    let on_input = move |ev| {
        let text = event_target_value(&ev);
        if text.trim().is_empty() {
            chat.typing_stopped();
        } else {
            chat.typing_activity(room);
        }
        if error.get_untracked().is_some() {
            set_error.set(None);
        }
        set_draft.set(text);
    };

    let on_pick = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        if let Some(list) = input.files() {
            chat.upload_files(room, files_of(&list));
        }
        // The same file can be picked again.
        input.set_value("");
    };

    view! {
        <form
            class="composer"
            on:submit=move |ev| {
                ev.prevent_default();
                send();
            }
        >
            <label for="composer-input" class="sr-only">"Message"</label>
            <div class="composer-box">
                <label class="icon-button attach" title="Attach files">
                    <span class="sr-only">"Attach files"</span>
                    <svg class="icon" viewBox="0 0 24 24" aria-hidden="true">
                        <path d="M21 11.5 12.5 20a5 5 0 0 1-7-7L14 4.5a3.5 3.5 0 0 1 5 5L10.5 18a2 2 0 0 1-3-3L15 7.5" />
                    </svg>
                    <input type="file" multiple class="sr-only" on:change=on_pick />
                </label>
                <textarea
                    id="composer-input"
                    rows="1"
                    placeholder=placeholder
                    aria-describedby="composer-error"
                    prop:value=draft
                    on:input=on_input
                    on:keydown=on_keydown
                    on:blur=move |_| chat.typing_stopped()
                ></textarea>
                <button type="submit" class="primary send">"Send"</button>
            </div>
            <div class="composer-foot">
                <p id="composer-error" class="form-error" role="alert">{move || error.get().map(|e| sentence(&e))}</p>
                {move || {
                    let n = count();
                    (n >= COUNT_FROM)
                        .then(|| {
                            view! {
                                <span class="char-count" class:over={ n > MAX_MESSAGE_CHARS }>
                                    {format!("{n} / {MAX_MESSAGE_CHARS}")}
                                </span>
                            }
                        })
                }}
            </div>
        </form>
    }
}

/// The files of a file list, in order.
pub fn files_of(list: &web_sys::FileList) -> Vec<web_sys::File> {
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}
