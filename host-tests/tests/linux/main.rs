//! The host-side tools for upstream Linux blobs (`liveupdate_host_tests::linux`): the image
//! container, the file entry points behind `luo --linux KIND FILE`, and the fuzz bodies of the
//! upstream decoders on real inputs.

mod file;
mod image;
mod support;
