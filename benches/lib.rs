//! Nothing here: the crate exists for `benches/hot_paths.rs` (`cargo bench` in this
//! folder), kept out of the main workspace so its tests never build criterion.
