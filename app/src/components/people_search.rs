//! Finding someone to talk to: a search by the start of a name, each result a button that
//! opens (or creates) the direct conversation with that person.

use confab_protocol::UserId;
use confab_protocol::api::UserSummary;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::chat::use_chat;
use crate::state::sentence;

/// The collapsible "Direct message" section of the sidebar.
#[component]
pub fn PeopleSearch() -> impl IntoView {
    let chat = use_chat();
    let (open, set_open) = signal(false);
    let (query, set_query) = signal(String::new());
    let (found, set_found) = signal(None::<Result<Vec<UserSummary>, String>>);
    let (starting, set_starting) = signal(None::<UserId>);
    let (error, set_error) = signal(None::<String>);

    // Answers can come back out of order while the user types: only the one for what the
    // field holds now is shown.
    let search = move |text: String| {
        spawn_local(async move {
            let result = chat.search_users(text.clone()).await;
            if query.try_get_untracked().as_deref() == Some(text.as_str()) {
                set_found.try_set(Some(result));
            }
        });
    };
    let toggle = move |_| {
        let now_open = !open.get_untracked();
        set_open.set(now_open);
        if now_open {
            set_error.set(None);
            search(query.get_untracked());
        }
    };
    let start = move |user: UserId| {
        set_starting.set(Some(user));
        set_error.set(None);
        spawn_local(async move {
            if let Err(message) = chat.start_direct(user).await {
                set_error.try_set(Some(message));
            }
            set_starting.try_set(None);
        });
    };

    view! {
        <section class="directory people" aria-label="Direct messages">
            <button
                type="button"
                class="section-toggle"
                aria-expanded=move || open.get().to_string()
                aria-controls="people-search"
                on:click=toggle
            >
                <span class="chevron" aria-hidden="true"></span>
                "Direct message"
            </button>
            <Show when=move || open.get()>
                <div id="people-search" class="directory-body">
                    <label for="people-query" class="sr-only">"Find people"</label>
                    <input
                        id="people-query"
                        type="search"
                        placeholder="Find people by name"
                        maxlength="32"
                        autocomplete="off"
                        prop:value=query
                        on:input=move |ev| {
                            let text = event_target_value(&ev);
                            set_query.set(text.clone());
                            search(text);
                        }
                    />
                    {move || match found.get() {
                        None => view! { <p class="empty-hint">"Searching…"</p> }.into_any(),
                        Some(Err(message)) => {
                            view! { <p class="form-error" role="alert">{sentence(&message)}</p> }.into_any()
                        }
                        Some(Ok(list)) if list.is_empty() => {
                            view! { <p class="empty-hint">"Nobody by that name."</p> }.into_any()
                        }
                        Some(Ok(list)) => view! {
                            <ul class="directory-list">
                                {list
                                    .into_iter()
                                    .map(|user| {
                                        let id = user.id;
                                        let online = move || chat.store.online.with(|o| o.contains(&id));
                                        view! {
                                            <li class="directory-room person" class:online=online>
                                                <span class="directory-name">
                                                    <span class="presence" aria-hidden="true"></span>
                                                    {user.username.clone()}
                                                </span>
                                                <button
                                                    type="button"
                                                    class="primary small"
                                                    aria-label=format!("Message {}", user.username)
                                                    disabled=move || starting.get() == Some(id)
                                                    on:click=move |_| start(id)
                                                >
                                                    "Message"
                                                </button>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                        .into_any(),
                    }}
                    <p class="form-error" role="alert">{move || error.get().map(|e| sentence(&e))}</p>
                </div>
            </Show>
        </section>
    }
}
