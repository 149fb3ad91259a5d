"""Video front end: frames, shots, subtitles on shots, recording sync (issue 12)."""

from .reader import VideoInfo, frame_times, iter_frames, open_video, read_audio
from .shots import Shot, detect_shots
from .subtitles import Cue, CueWord, SubtitleResult
from .sync import SyncResult

# the functions subtitles() and sync() are reached as align.subtitles / align.sync: re-exported
# here they would hide the submodules align.video.subtitles and align.video.sync
__all__ = ["VideoInfo", "open_video", "frame_times", "iter_frames", "read_audio", "Shot", "detect_shots", "Cue",
           "CueWord", "SubtitleResult", "SyncResult"]
