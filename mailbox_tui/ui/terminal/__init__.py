"""The app over SSH, between the terminal and Textual (README: "Keys over SSH"):

- driver.py: reads the terminal's bytes into keys (SshKeyParser: ESC+key and a lone Escape told apart
  over a slow link, pastes whole) and writes each frame through output.py;
- output.py: writes only what changed on screen, in few bytes (ScreenDiff, Compactor), and leaves the
  terminal as it was found;
- input_queue.py: keys typed ahead wait until the ones before them have had their effect, so each goes
  where the keys before it sent focus; it fails open and never holds ctrl+q.
"""
