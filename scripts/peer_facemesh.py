"""The peer in scripts/peer-compare.sh: MediaPipe FaceMesh (legacy
`solutions.face_mesh`, CPU, refine_landmarks on) over every frame of a video,
as a user who picked MediaPipe would run it. Prints frames read and faces
found, so a run that silently found nothing shows."""
import sys

import cv2
import mediapipe as mp


def main(path):
    video = cv2.VideoCapture(path)
    if not video.isOpened():
        sys.exit(f"cannot open {path}")
    frames = faces = 0
    with mp.solutions.face_mesh.FaceMesh(
        static_image_mode=False,
        max_num_faces=1,
        refine_landmarks=True,
        min_detection_confidence=0.5,
        min_tracking_confidence=0.5,
    ) as mesh:
        while True:
            ok, bgr = video.read()
            if not ok:
                break
            frames += 1
            result = mesh.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            faces += bool(result.multi_face_landmarks)
    print(f"peer: {frames} frames, face in {faces}")


if __name__ == "__main__":
    main(sys.argv[1])
