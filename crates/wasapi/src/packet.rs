//! One capture packet as an audio client hands it over: the type the COM layer fills and the
//! stream consumes (a leaf, so that neither depends on the other for it).

/// One capture packet as the port hands it over.
#[derive(Debug)]
pub struct Packet<'a> {
    /// Interleaved frames, or `None` for silence.
    pub data: Option<&'a [u8]>,
    /// Frames in the packet.
    pub frames: u32,
    /// `AUDCLNT_BUFFERFLAGS_*`.
    pub flags: u32,
    /// How long ago the packet's first frame was recorded, by the time stamp WASAPI gave
    /// with it (`None`: no time stamp). Windows stamps the recording instant; some audio
    /// stacks (Wine's winepulse) stamp the moment they made the packet readable, so the
    /// stream judges whether the figure is plausible before it uses it.
    pub first_frame_age_ns: Option<u64>,
}

/// `AUDCLNT_BUFFERFLAGS_DATA_DISCONTINUITY`.
pub const DISCONTINUITY: u32 = 0x1;
