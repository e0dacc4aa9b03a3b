//! The views, one `#[component]` per file. They read the [`crate::state::Store`] and call
//! [`crate::chat::Chat`]; none of them fetches or touches the socket itself.

pub mod app;
pub mod auth_form;
pub mod chat_screen;
pub mod composer;
pub mod connection_banner;
pub mod create_room;
pub mod member_list;
pub mod message_list;
pub mod message_row;
pub mod notice;
pub mod pending_row;
pub mod people_search;
pub mod room_directory;
pub mod room_link;
pub mod room_list;
pub mod room_pane;
pub mod room_view;
pub mod sidebar;
pub mod typing_indicator;
pub mod upload_bars;
