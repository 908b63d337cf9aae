//! Channel names from a WAVEFORMATEXTENSIBLE channel mask.
//!
//! Windows orders the channels of an interleaved frame by the set bits of the mask, lowest
//! first: a 5.1 mask (0x3F) gives Front Left, Front Right, Front Center, LFE, Back Left, Back
//! Right. Channels beyond the mask's set bits have no position and are named "Channel N"
//! (N counted from 1 over all channels).

/// Speaker positions, by bit of the channel mask (`SPEAKER_FRONT_LEFT` = bit 0 …).
pub const SPEAKER_NAMES: [&str; 18] = [
    "Front Left",
    "Front Right",
    "Front Center",
    "LFE",
    "Back Left",
    "Back Right",
    "Front Left of Center",
    "Front Right of Center",
    "Back Center",
    "Side Left",
    "Side Right",
    "Top Center",
    "Top Front Left",
    "Top Front Center",
    "Top Front Right",
    "Top Back Left",
    "Top Back Center",
    "Top Back Right",
];

/// The name of each of `channels` channels of a frame with channel mask `mask`.
///
/// A zero mask (a plain WAVEFORMATEX) means the usual layout for one or two channels (Mono;
/// Front Left, Front Right) and no positions otherwise. Bits above the known speaker
/// positions (reserved bits, `SPEAKER_ALL`) are ignored.
pub fn channel_names(mask: u32, channels: usize) -> Vec<String> {
    if mask == 0 && channels == 1 {
        return vec!["Mono".to_owned()];
    }
    let mask = if mask == 0 && channels == 2 {
        0x3
    } else {
        mask
    };
    let mut positions = SPEAKER_NAMES
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask & (1 << bit) != 0)
        .map(|(_, name)| *name);
    (1..=channels)
        .map(|n| match positions.next() {
            Some(name) => name.to_owned(),
            None => format!("Channel {n}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stereo_and_surround_masks() {
        assert_eq!(channel_names(0x3, 2), ["Front Left", "Front Right"]);
        assert_eq!(
            channel_names(0x3F, 6),
            [
                "Front Left",
                "Front Right",
                "Front Center",
                "LFE",
                "Back Left",
                "Back Right"
            ]
        );
        // 7.1 surround (KSAUDIO_SPEAKER_7POINT1_SURROUND): side channels after the back ones.
        assert_eq!(
            channel_names(0x63F, 8)[6..],
            ["Side Left".to_owned(), "Side Right".to_owned()]
        );
        assert_eq!(channel_names(0x4, 1), ["Front Center"]);
    }

    #[test]
    fn channels_beyond_the_mask_are_numbered() {
        assert_eq!(
            channel_names(0x3, 4),
            ["Front Left", "Front Right", "Channel 3", "Channel 4"]
        );
        assert_eq!(channel_names(0, 3), ["Channel 1", "Channel 2", "Channel 3"]);
    }

    #[test]
    fn a_zero_mask_means_the_usual_mono_and_stereo() {
        assert_eq!(channel_names(0, 1), ["Mono"]);
        assert_eq!(channel_names(0, 2), ["Front Left", "Front Right"]);
    }

    #[test]
    fn more_bits_than_channels_and_reserved_bits() {
        // A mask with more positions than channels names only as many as there are.
        assert_eq!(channel_names(0x3F, 2), ["Front Left", "Front Right"]);
        // SPEAKER_ALL and reserved bits carry no position.
        assert_eq!(channel_names(0x8000_0003, 3)[2], "Channel 3");
        assert_eq!(channel_names(0x2_0000, 1), ["Top Back Right"]);
        assert!(channel_names(0x3, 0).is_empty());
    }
}
