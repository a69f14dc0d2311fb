"""BitSpot synthetic text rendering: fonts with a held-out split, word sources, signs with per-word
boxes, scenes, camera motion and degradations. Pure functions of a numpy Generator; see README.md."""
from .fonts import (HeldOutFontError, check_split, eval_spec, family_of, held_out_files, is_held_out, is_monospace,
                    list_fonts, load_font, monospace, pick_font)
from .words import apply_case, load_dictionary, normalize, random_word, room_code, sign_lines
from .render import WordBox, apply_h, crop_word, ink_bbox, quad_of, render_sign, sign_colors
from .scene import SCENE_KINDS, add_clutter, homography, list_photos, make_scene, place_on, sign_quad
from .camera import MOTIONS, camera_path, frame_velocity, pose, project, render_view
from .degradations import (NoiseBank, contrast, defocus, degrade, gamma, grayscale, jpeg, motion_blur, noise,
                      random_params)

__all__ = [n for n in dir() if not n.startswith("_")]
