//! `pictor-sdk`: the async client of the Pictor network API.
