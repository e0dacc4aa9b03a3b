//! Creating a group room: a name, a button, and the API's answer when it refuses.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::chat::use_chat;
use crate::state::sentence;

/// The "create room" form.
#[component]
pub fn CreateRoom() -> impl IntoView {
    let chat = use_chat();
    let (name, set_name) = signal(String::new());
    let (error, set_error) = signal(None::<String>);
    let (busy, set_busy) = signal(false);
    let submit = move || {
        if busy.get_untracked() {
            return;
        }
        set_busy.set(true);
        set_error.set(None);
        let name_now = name.get_untracked();
        spawn_local(async move {
            match chat.create_room(name_now).await {
                Ok(()) => {
                    set_name.try_set(String::new());
                }
                Err(message) => {
                    set_error.try_set(Some(message));
                }
            }
            set_busy.try_set(false);
        });
    };
    view! {
        <form
            class="create-room"
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            <label for="new-room-name" class="section-title">"Room name"</label>
            <div class="inline-field">
                <input
                    id="new-room-name"
                    placeholder="e.g. general"
                    maxlength="64"
                    autocomplete="off"
                    prop:value=name
                    on:input=move |ev| set_name.set(event_target_value(&ev))
                />
                <button type="submit" class="primary small" disabled=busy>"Create room"</button>
            </div>
            <p class="form-error" role="alert">{move || error.get().map(|e| sentence(&e))}</p>
        </form>
    }
}
