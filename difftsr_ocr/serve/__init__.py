"""The pipeline as an HTTP service on Ray Serve (``python -m difftsr_ocr.serve``), and its client.

* :mod:`~difftsr_ocr.serve.deployment`: the replicas (one model copy each) and starting them.
* :mod:`~difftsr_ocr.serve.app`: the endpoints; :mod:`~difftsr_ocr.serve.page`: the web page.
* :mod:`~difftsr_ocr.serve.service` / :mod:`~difftsr_ocr.serve.pooling`: the work, and the
  pooling of concurrent requests' crops into full restorer calls.
* :mod:`~difftsr_ocr.serve.client`: a standard-library client (``restore_image(..., server=URL)``
  and the OCRmyPDF plug-in's ``--difftsr-server`` use it).

A front-end like the command line and the batch runner: nothing else in the package imports it.
"""
