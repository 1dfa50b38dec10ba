"""spark-submit entry point of `sparkling-mnist train-features-classifier` (same library function).

    JAVA17_FLAGS="--add-opens=java.base/sun.net.www.protocol.http=ALL-UNNAMED \
      --add-exports=java.base/sun.net.www.protocol.http=ALL-UNNAMED \
      --add-opens=java.base/sun.net.www.protocol.https=ALL-UNNAMED \
      --add-exports=java.base/sun.net.www.protocol.https=ALL-UNNAMED"
    spark-submit --master local[2] \
      --conf "spark.driver.extraJavaOptions=$JAVA17_FLAGS" \
      jobs/train_features_classifier.py --config conf/local.yaml
"""

import sys

from sparkling_mnist.cli import main

if __name__ == "__main__":
    sys.exit(main(["train-features-classifier", *sys.argv[1:]]))
