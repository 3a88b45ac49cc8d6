//! The Pictor network: coordinator service, store, blobs, and the CLI's commands.
