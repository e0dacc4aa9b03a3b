//! The directory of group rooms, to find and join one. Loaded when opened.

use confab_protocol::RoomId;
use confab_protocol::api::DirectoryRoom;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::chat::use_chat;
use crate::state::sentence;

/// A collapsible list of every group room with a "Join" button.
#[component]
pub fn RoomDirectory() -> impl IntoView {
    let chat = use_chat();
    let (open, set_open) = signal(false);
    let (rooms, set_rooms) = signal(None::<Result<Vec<DirectoryRoom>, String>>);
    let (joining, set_joining) = signal(None::<RoomId>);
    let (error, set_error) = signal(None::<String>);

    let load = move || {
        spawn_local(async move {
            let result = chat.directory().await;
            set_rooms.try_set(Some(result));
        });
    };
    let toggle = move |_| {
        let now_open = !open.get_untracked();
        set_open.set(now_open);
        if now_open {
            set_error.set(None);
            load();
        }
    };
    let join = move |id: RoomId| {
        set_joining.set(Some(id));
        set_error.set(None);
        spawn_local(async move {
            match chat.join_room(id).await {
                Ok(()) => {
                    set_rooms.try_update(|rooms| {
                        if let Some(Ok(list)) = rooms
                            && let Some(room) = list.iter_mut().find(|r| r.id == id)
                        {
                            room.joined = true;
                            room.member_count += 1;
                        }
                    });
                }
                Err(message) => {
                    set_error.try_set(Some(message));
                }
            }
            set_joining.try_set(None);
        });
    };

    view! {
        <section class="directory" aria-label="Room directory">
            <button
                type="button"
                class="section-toggle"
                aria-expanded=move || open.get().to_string()
                aria-controls="directory-list"
                on:click=toggle
            >
                <span class="chevron" aria-hidden="true"></span>
                "Browse rooms"
            </button>
            <Show when=move || open.get()>
                <div id="directory-list" class="directory-body">
                    {move || match rooms.get() {
                        None => view! { <p class="empty-hint">"Loading…"</p> }.into_any(),
                        Some(Err(message)) => view! { <p class="form-error" role="alert">{sentence(&message)}</p> }.into_any(),
                        Some(Ok(list)) if list.is_empty() => {
                            view! { <p class="empty-hint">"No rooms yet."</p> }.into_any()
                        }
                        Some(Ok(list)) => view! {
                            <ul class="directory-list">
                                {list
                                    .into_iter()
                                    .map(|room| {
                                        let id = room.id;
                                        let members = if room.member_count == 1 {
                                            "1 member".to_owned()
                                        } else {
                                            format!("{} members", room.member_count)
                                        };
                                        view! {
                                            <li class="directory-room">
                                                <span class="directory-name">"#"{room.name.clone()}</span>
                                                <span class="directory-count">{members}</span>
                                                {if room.joined {
                                                    view! {
                                                        <button
                                                            type="button"
                                                            class="secondary small"
                                                            aria-label=format!("Open {}", room.name)
                                                            on:click=move |_| chat.open_room(id)
                                                        >
                                                            "Open"
                                                        </button>
                                                    }
                                                    .into_any()
                                                } else {
                                                    view! {
                                                        <button
                                                            type="button"
                                                            class="primary small"
                                                            aria-label=format!("Join {}", room.name)
                                                            disabled=move || joining.get() == Some(id)
                                                            on:click=move |_| join(id)
                                                        >
                                                            "Join"
                                                        </button>
                                                    }
                                                    .into_any()
                                                }}
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                        .into_any(),
                    }}
                    <p class="form-error" role="alert">{move || error.get().map(|e| sentence(&e))}</p>
                    <button type="button" class="link" on:click=move |_| load()>"Refresh"</button>
                </div>
            </Show>
        </section>
    }
}
